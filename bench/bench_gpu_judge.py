"""Benchmark: local judge throughput, batched constrained decoding against one prompt at a time.

Same random model, same ranking prompts (persona-rank-v1, K responses, 3 criteria), greedy decoding. For
each device it measures judgements per second of

- constrained decoding (xgrammar) in batches of ``--batch-size``,
- the same, one prompt at a time (it must give the same answers: greedy decoding is deterministic),
- unconstrained decoding in batches, with the same token budget (its answers mostly fail to parse; it
  shows what the constraint costs: an unconstrained row runs to the budget, a constrained one stops when
  its answer is complete, so decoding steps are counted too).

The CPU section uses the tiny 2-layer model of the tests; the GPU section runs only where CUDA is
available, with that model and a larger random one (8 layers, width 512).

    .venv/bin/python bench/bench_gpu_judge.py [--prompts 64] [--batch-size 32] [--k 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from judges.local.generate import generate_judgements  # noqa: E402
from judges.local.grammar import ranking_schema  # noqa: E402
from tests.judges.local_judge import (  # noqa: E402
    CRITERIA_KEYS,
    TEMPLATES,
    build_tiny_judge,
    ranking_prompts,
)
from training_worker.ml.tiny_models import DEFAULT_CORPUS, build_tiny_causal_lm  # noqa: E402


def _timed_run(model, tokenizer, prompts, schema, *, batch_size: int, constrained: bool):
    """Judgements and seconds of one generate_judgements call (CUDA work finished before the clock stops)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    began = time.perf_counter()
    judgements = generate_judgements(
        model=model,
        tokenizer=tokenizer,
        prompts=prompts,
        schema=schema,
        batch_size=batch_size,
        max_new_tokens=schema.max_answer_chars + 1,
        constrained=constrained,
    )
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return judgements, time.perf_counter() - began


def _answer_tokens(tokenizer, judgements) -> int:
    return sum(len(tokenizer(j.raw_text, add_special_tokens=False)["input_ids"]) for j in judgements)


def bench_model(label: str, model_dir: Path, device: str, args: argparse.Namespace) -> list[tuple]:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    schema = ranking_schema(criteria_keys=CRITERIA_KEYS, k=args.k)
    prompts = ranking_prompts(args.prompts, k=args.k)
    # Warm-up: first-call costs (kernels, allocator, grammar compiler) stay out of the figures.
    _timed_run(
        model, tokenizer, prompts[: args.batch_size], schema, batch_size=args.batch_size, constrained=True
    )
    batched, batched_s = _timed_run(
        model, tokenizer, prompts, schema, batch_size=args.batch_size, constrained=True
    )
    single, single_s = _timed_run(model, tokenizer, prompts, schema, batch_size=1, constrained=True)
    free, free_s = _timed_run(
        model, tokenizer, prompts, schema, batch_size=args.batch_size, constrained=False
    )
    assert all(j.ok for j in batched) and all(j.ok for j in single), "a constrained answer failed to parse"
    same = sum(a.raw_text == b.raw_text for a, b in zip(batched, single, strict=True))
    assert same == len(prompts), f"batched and one-at-a-time greedy answers differ on {len(prompts) - same}"
    n = len(prompts)
    rows: list[tuple] = []
    per_token = {}
    for mode, judgements, seconds, batch in (
        ("constrained, batched", batched, batched_s, args.batch_size),
        ("constrained, one at a time", single, single_s, 1),
        ("unconstrained, batched", free, free_s, args.batch_size),
    ):
        per_token[mode] = 1000 * seconds / max(_answer_tokens(tokenizer, judgements), 1)
        valid = f"{sum(j.ok for j in judgements)}/{n}"
        rows.append((label, device, mode, batch, n / seconds, per_token[mode], valid))
    speed_up = single_s / batched_s
    overhead = per_token["constrained, batched"] / per_token["unconstrained, batched"]
    rows.append((label, device, "speed-up: batched / one at a time", "", speed_up, "", ""))
    rows.append((label, device, "overhead: constrained / unconstrained (ms per token)", "", overhead, "", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--k", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory() as scratch:
        tiny = build_tiny_judge(Path(scratch) / "tiny")
        rows += bench_model("tiny (2x64)", tiny, "cpu", args)
        if torch.cuda.is_available():
            small = build_tiny_causal_lm(
                Path(scratch) / "small",
                corpus=[*DEFAULT_CORPUS, *TEMPLATES],
                vocab_size=1500,
                hidden_size=512,
                num_layers=8,
                num_heads=8,
                max_position_embeddings=2048,
            )
            rows += bench_model("tiny (2x64)", tiny, "cuda", args)
            rows += bench_model("small (8x512)", small, "cuda", args)
        else:
            print("GPU section skipped: CUDA is not available.")
    header = ("model", "device", "mode", "batch", "judgements/s | ratio", "ms/answer token", "valid")
    setting = f"K={args.k}, {len(CRITERIA_KEYS)} criteria, greedy, {torch.get_num_threads()} CPU threads"
    print(f"{args.prompts} ranking prompts, {setting}")
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(f"{cell:.3g}" if isinstance(cell, float) else str(cell) for cell in row))


if __name__ == "__main__":
    main()
