"""Preference pairs (chosen vs rejected) from aggregated items, with their provenance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Literal

import numpy as np

from annotation.aggregation.records import AggregateResult
from annotation.aggregation.vectorised import BatchAggregate, ItemLabels

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


def _check_options(strategy: str, min_margin: float) -> None:
    if strategy not in _PAIR_STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {_PAIR_STRATEGIES}")
    if min_margin < 0:
        raise ValueError("min_margin must be >= 0")


def _order_positions(strategy: str, k: int) -> list[tuple[int, int]]:
    """The candidates of :func:`extract_pairs` as (chosen, rejected) positions in the consensus order,
    in its listing order (an item's best and worst are the ends of its order)."""
    if strategy == "best_worst":
        return [(0, k - 1)]
    if strategy == "top_vs_rest":
        return [(0, j) for j in range(1, k)]
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


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
    _check_options(strategy, min_margin)
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


def extract_batch_pairs(
    batch: BatchAggregate,
    labels: Sequence[ItemLabels],
    *,
    strategy: PairStrategy = "best_worst",
    min_margin: float = 0.0,
) -> list[list[PreferencePair]]:
    """Each item's pairs, as ``extract_pairs(batch.results(labels))`` lists them, worked out on the batch's
    arrays without building the per-item results (``labels[i]`` labels item ``i``, as for
    :meth:`BatchAggregate.results`). Same floats: differences and agreements are the same float64
    operations on the same exact values; the batch's best and worst are the ends of its order."""
    _check_options(strategy, min_margin)
    per_item: list[list[PreferencePair]] = [[] for _ in labels]
    if not labels:
        return per_item
    items = np.arange(len(labels))[:, None]
    positions = np.asarray(_order_positions(strategy, batch.k))
    chosen = batch.order[: len(labels), positions[:, 0]]
    rejected = batch.order[: len(labels), positions[:, 1]]
    difference = batch.scores[items, chosen] - batch.scores[items, rejected]
    keep = (batch.n_valid[: len(labels)] > 0)[:, None] & (difference > min_margin)
    item, pair = np.nonzero(keep)
    chosen, rejected = chosen[item, pair], rejected[item, pair]
    wins = batch.pairwise_wins[item, chosen, rejected]
    n_valid = batch.n_valid[item]
    columns = zip(
        item.tolist(),
        chosen.tolist(),
        rejected.tolist(),
        batch.scores[item, chosen].tolist(),
        batch.scores[item, rejected].tolist(),
        difference[item, pair].tolist(),
        (wins / n_valid).tolist(),
        n_valid.tolist(),
        strict=True,
    )
    valid = batch.valid.tolist()
    judge_ids: dict[int, tuple[str, ...]] = {}
    for index, c, r, chosen_score, rejected_score, diff, agreement, n in columns:
        question_id, criterion, response_ids, raters = labels[index]
        if index not in judge_ids:
            judge_ids[index] = tuple(compress(raters, valid[index][: len(raters)]))
        per_item[index].append(
            PreferencePair(
                question_id=question_id,
                criterion=criterion,
                chosen_response_id=response_ids[c],
                rejected_response_id=response_ids[r],
                chosen_index=c,
                rejected_index=r,
                chosen_score=chosen_score,
                rejected_score=rejected_score,
                score_difference=diff,
                judge_agreement=agreement,
                n_judges=n,
                judge_ids=judge_ids[index],
                strategy=strategy,
            )
        )
    return per_item
