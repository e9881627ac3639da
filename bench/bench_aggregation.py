"""Study-scale aggregation benchmark: vectorised numpy path vs the per-item Python loop, same run.

Default scale is the study's preference collection: 2,379 training questions x 50 personas x 6 criteria,
5 responses each (713,700 rankings, 14,274 items). Rankings are synthetic and seeded: each item
has latent response qualities; each persona ranks by quality plus Gumbel noise (a Plackett-Luce draw), and a
small share of rankings is corrupted (a repeated rank) so the discard path is exercised.

Prints timings and their ratio, and checks that both paths give identical results (scores, votes, order,
best/worst, validity counts, pairwise wins, Kendall's W and the extracted best/worst pairs); exits non-zero
if they differ. Not a test: timings are printed, never asserted.

    .venv/bin/python bench/bench_aggregation.py [--questions 2379 --personas 50 --criteria 6 --k 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.aggregation import (
    ItemRankings,
    aggregate_item_reference,
    aggregate_rank_array,
    extract_pairs,
)


def synthetic_ranks(
    *, n_items: int, n_judges: int, k: int, seed: int, invalid_rate: float, tie_rate: float
) -> np.ndarray:
    """Rank vectors (E, J, K), 1 = best, from a seeded Plackett-Luce (Gumbel) model with some corruption."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(0.0, 1.0, size=(n_items, 1, k))
    utility = quality + rng.gumbel(size=(n_items, n_judges, k))
    ranks = (np.argsort(np.argsort(-utility, axis=-1), axis=-1) + 1).astype(np.int8)
    corrupt = rng.random((n_items, n_judges)) < invalid_rate
    ranks[corrupt, 0] = ranks[corrupt, 1]  # a repeated rank: invalid, unless it happens to be a legal tie
    if tie_rate:
        tied = rng.random((n_items, n_judges)) < tie_rate
        second = ranks == 2
        ranks[tied[..., None] & second] = 1  # competition-style tie for first
    return ranks


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=2379)
    parser.add_argument("--personas", type=int, default=50)
    parser.add_argument("--criteria", type=int, default=6)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20260216)
    parser.add_argument("--invalid-rate", type=float, default=0.01)
    parser.add_argument(
        "--tie-rate", type=float, default=0.0, help="share of tied rankings (needs --allow-ties)"
    )
    parser.add_argument("--allow-ties", action="store_true")
    args = parser.parse_args()

    n_items = args.questions * args.criteria
    ranks = synthetic_ranks(
        n_items=n_items,
        n_judges=args.personas,
        k=args.k,
        seed=args.seed,
        invalid_rate=args.invalid_rate,
        tie_rate=args.tie_rate,
    )
    criteria = [f"criterion_{c}" for c in range(args.criteria)]
    response_ids = tuple(f"r{i + 1}" for i in range(args.k))
    judge_ids = tuple(f"persona_{j:03d}" for j in range(args.personas))
    question_of = [f"q{e // args.criteria:05d}" for e in range(n_items)]
    criterion_of = [criteria[e % args.criteria] for e in range(n_items)]
    print(
        f"rankings: {n_items * args.personas:,} ({args.questions:,} questions x {args.personas} personas x "
        f"{args.criteria} criteria), K={args.k}, items: {n_items:,}, seed={args.seed}, "
        f"allow_ties={args.allow_ties}"
    )

    # Vectorised: one numpy pass over the whole (E, J, K) array, then records and pairs.
    began = time.perf_counter()
    batch = aggregate_rank_array(ranks, allow_ties=args.allow_ties)
    vector_core_s = time.perf_counter() - began
    began = time.perf_counter()
    vector_results = [
        batch.result(
            e,
            question_id=question_of[e],
            criterion=criterion_of[e],
            response_ids=response_ids,
            judge_ids=judge_ids,
        )
        for e in range(n_items)
    ]
    vector_pairs = extract_pairs(vector_results)
    vector_records_s = time.perf_counter() - began

    # Reference: the per-item Python loop over plain lists (how the study's scripts tally votes).
    rows = ranks.tolist()
    items = [
        ItemRankings(
            question_id=question_of[e],
            criterion=criterion_of[e],
            response_ids=response_ids,
            judge_ids=judge_ids,
            ranks=rows[e],
        )
        for e in range(n_items)
    ]
    began = time.perf_counter()
    reference_results = [aggregate_item_reference(item, allow_ties=args.allow_ties) for item in items]
    reference_pairs = extract_pairs(reference_results)
    reference_s = time.perf_counter() - began

    identical = vector_results == reference_results and vector_pairs == reference_pairs
    vector_total_s = vector_core_s + vector_records_s
    n_invalid = int(batch.n_invalid.sum())
    print(f"invalid rankings discarded: {n_invalid:,} ({n_invalid / ranks[..., 0].size:.2%})")
    print(
        f"best/worst pairs: {len(vector_pairs):,} "
        f"(items without a preference: {n_items - len(vector_pairs):,})"
    )
    print(f"vectorised core (numpy):          {vector_core_s:8.3f} s")
    print(f"vectorised + records + pairs:     {vector_total_s:8.3f} s")
    print(f"per-item loop + pairs:            {reference_s:8.3f} s")
    print(f"speed-up, core:                   {reference_s / vector_core_s:8.1f}x")
    print(f"speed-up, end to end:             {reference_s / vector_total_s:8.1f}x")
    print(f"results identical: {identical}")
    if not identical:
        mismatches = sum(a != b for a, b in zip(vector_results, reference_results, strict=True))
        print(f"MISMATCH in {mismatches} items", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
