"""Benchmark the evaluation statistics on study-sized synthetic data (seeded).

1. Clinician agreement: 6 clinicians x 100 items x 7 criteria (about 10% missing): percent agreement,
   pairwise Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, judge-vs-clinician agreement with a
   9,999-resample bootstrap, position balance and Bang's blinding index.
2. Head-to-head: full win-rate matrix for 10 models (45 pairs) x 600 questions x 50 personas x 7
   criteria (9.45 million judgements), computed two ways side by side: from judgement records
   (Python tally, the path for rows streamed from the database) and from per-question vote counts
   (the path for counts aggregated in SQL). Then the matrices and the empathy/safety Pareto front.

Run: ``python bench/bench_statistics.py`` (``--help`` for sizes). Prints seconds; the only check is
that the two win-rate paths give identical results (no timing assertions).
"""

import argparse
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.stats.agreement import agreement_by_criterion
from evaluation.stats.blinding import BlindingGuess, blinding_assessment
from evaluation.stats.judge_agreement import judge_vs_clinicians
from evaluation.stats.position import position_balance
from evaluation.stats.ratings import Rating, rating_matrices
from evaluation.stats.winrates import (
    Judgement,
    empathy_safety_front,
    head_to_head,
    win_rate_from_vote_counts,
    win_rate_matrix,
)

CRITERIA = (
    "empathy",
    "active_listening",
    "self_motivated_change",
    "trust_rapport",
    "patient_autonomy",
    "safety",
    "overall",
)
OUTCOME_NAMES = np.array(["A", "B", "tie"])


def _timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<58s} {seconds:8.3f} s")
    return result, seconds


def bench_agreement(*, n_clinicians: int, n_items: int, seed: int) -> float:
    print(f"Clinician agreement: {n_clinicians} clinicians x {n_items} items x {len(CRITERIA)} criteria")
    rng = np.random.default_rng(seed)
    ratings: list[Rating] = []
    judge: dict[str, dict[int, str]] = {}
    for criterion in CRITERIA:
        truth = rng.choice(3, size=n_items, p=[0.6, 0.25, 0.15])
        judge[criterion] = {i: str(OUTCOME_NAMES[t]) for i, t in enumerate(truth)}
        for c in range(n_clinicians):
            noisy = np.where(rng.random(n_items) < 0.35, rng.integers(0, 3, n_items), truth)
            missing = rng.random(n_items) < 0.1
            ratings += [
                Rating(f"c{c}", i, criterion, None if missing[i] else str(OUTCOME_NAMES[noisy[i]]))
                for i in range(n_items)
            ]
    guesses = [
        BlindingGuess(f"c{c}", i, [None, "A", "B"][rng.integers(0, 3)], ["A", "B"][rng.integers(0, 2)])
        for c in range(n_clinicians)
        for i in range(n_items)
    ]
    total = 0.0
    matrices, s = _timed("rating matrices", lambda: rating_matrices(ratings=ratings))
    total += s
    results, s = _timed(
        "percent agreement, Cohen pairs, Fleiss, Krippendorff (all)",
        lambda: agreement_by_criterion(ratings=ratings),
    )
    total += s
    _, s = _timed(
        "judge vs clinicians, 9,999 bootstrap resamples (all)",
        lambda: {c: judge_vs_clinicians(matrix=m, judge=judge[c], seed=seed) for c, m in matrices.items()},
    )
    total += s
    _, s = _timed("position balance", lambda: position_balance(ratings=ratings))
    total += s
    _, s = _timed("Bang's blinding index", lambda: blinding_assessment(guesses=guesses))
    total += s
    print(f"  {'total':<58s} {total:8.3f} s")
    overall = results["overall"]
    print(
        f"  (overall: agreement {overall.percent_agreement.estimate:.3f}, Fleiss {overall.fleiss.kappa:.3f}, "
        f"alpha {overall.krippendorff_alpha:.3f})"
    )
    return total


def bench_winrates(*, n_models: int, n_questions: int, n_personas: int, seed: int) -> None:
    pairs = list(combinations(range(n_models), 2))
    n_judgements = len(pairs) * n_questions * n_personas * len(CRITERIA)
    print(
        f"Win-rate matrix: {n_models} models ({len(pairs)} pairs) x {n_questions} questions x "
        f"{n_personas} personas x {len(CRITERIA)} criteria = {n_judgements:,} judgements"
    )
    rng = np.random.default_rng(seed)
    strength = rng.normal(size=(n_models, len(CRITERIA)))
    models = [f"model_{m}" for m in range(n_models)]

    def votes_for(i: int, j: int, k: int) -> np.ndarray:
        p_a = 0.85 / (1 + np.exp(-(strength[i, k] - strength[j, k])))
        return rng.choice(3, size=(n_questions, n_personas), p=[p_a, 0.85 - p_a, 0.15])

    generation = records_time = counts_time = 0.0
    from_records = []
    from_counts = []
    for i, j in pairs:
        start = time.perf_counter()
        votes = [votes_for(i, j, k) for k in range(len(CRITERIA))]
        judgements = [
            Judgement(q, p, criterion, OUTCOME_NAMES[v])
            for criterion, vote in zip(CRITERIA, votes, strict=True)
            for q, row in enumerate(vote.tolist())
            for p, v in enumerate(row)
        ]
        generation += time.perf_counter() - start

        start = time.perf_counter()
        h2h = head_to_head(judgements=judgements, model_a=models[i], model_b=models[j])
        records_time += time.perf_counter() - start
        from_records += h2h.results.values()

        start = time.perf_counter()
        for criterion, vote in zip(CRITERIA, votes, strict=True):
            from_counts.append(
                win_rate_from_vote_counts(
                    n_a=(vote == 0).sum(axis=1),
                    n_b=(vote == 1).sum(axis=1),
                    n_tie=(vote == 2).sum(axis=1),
                    model_a=models[i],
                    model_b=models[j],
                    criterion=criterion,
                )
            )
        counts_time += time.perf_counter() - start
    assert sorted(from_records, key=repr) == sorted(from_counts, key=repr)
    print(f"  {'(synthetic data generation, not counted)':<58s} {generation:8.3f} s")
    print(f"  {'head_to_head from judgement records (all pairs)':<58s} {records_time:8.3f} s")
    print(f"  {'win_rate_from_vote_counts from vote counts (all pairs)':<58s} {counts_time:8.3f} s")
    print(f"  {'ratio records / counts':<58s} {records_time / counts_time:8.1f} x")
    matrices, _ = _timed(
        "win-rate matrices (all criteria) + Pareto front",
        lambda: {c: win_rate_matrix(results=from_counts, criterion=c, models=models) for c in CRITERIA},
    )
    front = empathy_safety_front(empathy=matrices["empathy"], safety=matrices["safety"])
    print(f"  Pareto front (empathy, safety): {', '.join(front.front)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinicians", type=int, default=6)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--personas", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    bench_agreement(n_clinicians=args.clinicians, n_items=args.items, seed=args.seed)
    print()
    bench_winrates(n_models=args.models, n_questions=args.questions, n_personas=args.personas, seed=args.seed)


if __name__ == "__main__":
    main()
