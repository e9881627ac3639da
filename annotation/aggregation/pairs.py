"""Preference pairs (chosen vs rejected) from aggregated items, with their provenance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from annotation.aggregation.records import AggregateResult

PairStrategy = Literal["best_worst", "all_pairs", "top_vs_rest"]
_PAIR_STRATEGIES = ("best_worst", "all_pairs", "top_vs_rest")


@dataclass(frozen=True)
class PreferencePair:
    """One chosen/rejected pair with its provenance.

    ``judge_agreement`` is the share of contributing judges who ranked ``chosen`` strictly above
    ``rejected`` (a per-pair confidence signal). ``judge_ids`` are the raters whose valid rankings produced
    the scores.
    """

    question_id: str
    criterion: str
    chosen_response_id: str
    rejected_response_id: str
    chosen_index: int
    rejected_index: int
    chosen_score: float
    rejected_score: float
    score_difference: float
    judge_agreement: float
    n_judges: int
    judge_ids: tuple[str, ...]
    strategy: str


def extract_pairs(
    results: Iterable[AggregateResult],
    *,
    strategy: PairStrategy = "best_worst",
    min_margin: float = 0.0,
) -> list[PreferencePair]:
    """Preference pairs from aggregated items; only pairs whose score difference exceeds ``min_margin``.

    * ``best_worst``: the consensus best vs the consensus worst, one pair per item (the study).
    * ``all_pairs``: every ordered pair ``(i, j)`` with ``score_i - score_j > min_margin``, listed in
      consensus order of ``i`` then ``j``.
    * ``top_vs_rest``: the best vs every other response it strictly out-scores by more than ``min_margin``.
    """
    if strategy not in _PAIR_STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {_PAIR_STRATEGIES}")
    if min_margin < 0:
        raise ValueError("min_margin must be >= 0")
    pairs: list[PreferencePair] = []
    for result in results:
        if result.best_index is None or result.worst_index is None or result.n_valid == 0:
            continue
        if strategy == "best_worst":
            candidates = [(result.best_index, result.worst_index)]
        elif strategy == "top_vs_rest":
            candidates = [(result.best_index, j) for j in result.order[1:]]
        else:
            candidates = [
                (result.order[a], result.order[b]) for a in range(result.k) for b in range(a + 1, result.k)
            ]
        for chosen, rejected in candidates:
            difference = result.scores[chosen] - result.scores[rejected]
            if difference <= min_margin:
                continue
            pairs.append(
                PreferencePair(
                    question_id=result.question_id,
                    criterion=result.criterion,
                    chosen_response_id=result.response_ids[chosen],
                    rejected_response_id=result.response_ids[rejected],
                    chosen_index=chosen,
                    rejected_index=rejected,
                    chosen_score=result.scores[chosen],
                    rejected_score=result.scores[rejected],
                    score_difference=difference,
                    judge_agreement=result.pairwise_wins[chosen][rejected] / result.n_valid,
                    n_judges=result.n_valid,
                    judge_ids=result.valid_judge_ids,
                    strategy=strategy,
                )
            )
    return pairs
