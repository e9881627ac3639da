"""Vectorised aggregation: many items in one numpy pass, bit-identical to the reference loop."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Literal

import numpy as np

from annotation.aggregation.points import check_exact_range, rank_points, tie_point_table, tie_scale
from annotation.aggregation.rank_vectors import coerce_rows, rank_rows_valid
from annotation.aggregation.records import AggregateResult, ItemRankings
from annotation.aggregation.reference import aggregate_item_reference

#: An item's labels for :meth:`BatchAggregate.results`: (question_id, criterion, response_ids, judge_ids).
ItemLabels = tuple[str, str, Sequence[str], Sequence[str]]


@dataclass(frozen=True)
class BatchAggregate:
    """Vectorised aggregation of ``E`` items x ``J`` judge slots x ``K`` responses.

    Arrays (``E`` first): ``scores`` (E, K) float64 = ``scaled_scores / scale``; ``scaled_scores`` (E, K)
    int64 exact; ``first_place_votes``/``last_place_votes`` (E, K); ``n_valid``/``n_invalid`` (E,);
    ``valid`` (E, J) which rankings were used; ``order`` (E, K) consensus order; ``best``/``worst`` (E,)
    response index or -1 when there is no valid ranking; ``pairwise_wins`` (E, K, K); ``kendall_w`` (E,)
    float64, NaN where undefined.
    """

    k: int
    scale: int
    points: tuple[int, ...]
    scores: np.ndarray
    scaled_scores: np.ndarray
    first_place_votes: np.ndarray
    last_place_votes: np.ndarray
    n_valid: np.ndarray
    n_invalid: np.ndarray
    valid: np.ndarray
    order: np.ndarray
    best: np.ndarray
    worst: np.ndarray
    pairwise_wins: np.ndarray
    kendall_w: np.ndarray

    def result(
        self,
        index: int,
        *,
        question_id: str,
        criterion: str,
        response_ids: Sequence[str],
        judge_ids: Sequence[str],
    ) -> AggregateResult:
        """The :class:`AggregateResult` of item ``index``; ``judge_ids`` align with its J slots."""
        return self._assemble(
            (question_id, criterion, response_ids, judge_ids),
            self.valid[index].tolist(),
            *(
                getattr(self, name)[index].tolist()
                for name in ("scores", "first_place_votes", "last_place_votes", "order", "pairwise_wins")
            ),
            *(
                getattr(self, name)[index].item()
                for name in ("best", "worst", "n_valid", "n_invalid", "kendall_w")
            ),
        )

    def results(self, items: Sequence[ItemLabels]) -> list[AggregateResult]:
        """Every item's :class:`AggregateResult`, ``items[i]`` labelling row ``i``: what :meth:`result`
        gives item by item, with the arrays converted to Python once rather than once per item."""
        columns = (
            self.valid,
            self.scores,
            self.first_place_votes,
            self.last_place_votes,
            self.order,
            self.pairwise_wins,
            self.best,
            self.worst,
            self.n_valid,
            self.n_invalid,
            self.kendall_w,
        )
        rows = zip(*(column[: len(items)].tolist() for column in columns), strict=True)
        return [self._assemble(labels, *row) for labels, row in zip(items, rows, strict=True)]

    def _assemble(
        self,
        labels: ItemLabels,
        valid: list[bool],
        scores: list[float],
        first: list[int],
        last: list[int],
        order: list[int],
        pairwise_wins: list[list[int]],
        best: int,
        worst: int,
        n_valid: int,
        n_invalid: int,
        w: float,
    ) -> AggregateResult:
        question_id, criterion, response_ids, judge_ids = labels
        valid = valid[: len(judge_ids)]
        return AggregateResult(
            question_id=question_id,
            criterion=criterion,
            response_ids=tuple(response_ids),
            scores=tuple(scores),
            first_place_votes=tuple(first),
            last_place_votes=tuple(last),
            order=tuple(order),
            best_index=None if best < 0 else best,
            worst_index=None if worst < 0 else worst,
            n_valid=n_valid,
            n_invalid=n_invalid,
            valid_judge_ids=tuple(compress(judge_ids, valid)),
            invalid_judge_ids=tuple(compress(judge_ids, [not v for v in valid])),
            pairwise_wins=tuple(map(tuple, pairwise_wins)),
            kendall_w=None if math.isnan(w) else w,
            points=self.points,
        )


def aggregate_rank_array(
    ranks: np.ndarray,
    *,
    present: np.ndarray | None = None,
    allow_ties: bool = False,
) -> BatchAggregate:
    """Aggregate an integer array of rank vectors, shape ``(E, J, K)``, in one vectorised pass.

    ``present`` (E, J) marks which judge slots hold a ranking (padding for items with fewer judges);
    absent slots are neither valid nor invalid. Present rows that fail validation are invalid. Results are
    identical to :func:`aggregate_item_reference` item by item.
    """
    arr = np.asarray(ranks)
    if arr.ndim != 3:
        raise ValueError(f"ranks must have shape (items, judges, K), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"ranks must have an integer dtype, got {arr.dtype}")
    n_items, n_judges, k = arr.shape
    points = rank_points(k)
    scale = tie_scale(k, allow_ties)
    check_exact_range(points, scale, n_judges)

    if present is None:
        present_mask = np.ones((n_items, n_judges), dtype=bool)
    else:
        present_mask = np.asarray(present, dtype=bool)
        if present_mask.shape != (n_items, n_judges):
            raise ValueError(f"present must have shape {(n_items, n_judges)}, got {present_mask.shape}")

    # Work in a small integer type. Clipping to [-1, K+1] keeps every out-of-range value out of range.
    small = np.int16 if k < 16_000 else np.int32
    info = np.iinfo(arr.dtype)
    clipped = np.clip(arr, max(-1, info.min), min(k + 1, info.max)).astype(small, copy=False)
    valid = present_mask & rank_rows_valid(clipped, allow_ties=allow_ties)
    v3 = valid[..., None]
    # Invalid and absent rows become all zeros: rank 0 earns 0 points, no first place and no pairwise win.
    cmp = np.where(v3, clipped, 0).astype(small, copy=False)

    if allow_ties:
        group = (cmp[..., :, None] == cmp[..., None, :]).sum(axis=-1, dtype=small)  # tie-group sizes
        group = np.where(v3, group, 1).astype(small, copy=False)
        table = np.zeros((k + 1, k + 1), dtype=np.int64)
        table[1:, 1:] = tie_point_table(k, scale)
        row_points = table[cmp, group]
        twice_mid = 2 * cmp.astype(np.int64) + group - 1  # 2 x mid-rank; 0 for masked rows
        tie_term = (group.astype(np.int64) ** 2 - 1).sum(axis=(1, 2))  # sum over groups of t^3 - t
    else:
        row_points = np.asarray((0, *points), dtype=np.int64)[cmp]
        twice_mid = 2 * cmp.astype(np.int64)
        tie_term = np.zeros(n_items, dtype=np.int64)

    scaled_scores = row_points.sum(axis=1)  # exact int64, (E, K)
    scores = scaled_scores / scale if scale != 1 else scaled_scores.astype(np.float64)

    first = (cmp == 1).sum(axis=1)
    row_max = cmp.max(axis=-1, keepdims=True)
    last = ((cmp == row_max) & v3).sum(axis=1)
    pairwise_wins = (cmp[..., :, None] < cmp[..., None, :]).sum(axis=1)  # (E, K, K)

    n_valid = valid.sum(axis=1)
    n_invalid = (present_mask & ~valid).sum(axis=1)

    # Consensus order: keys (-score, -first, +last, +index); np.lexsort's last key is primary.
    index_key = np.broadcast_to(np.arange(k), (n_items, k))
    order = np.lexsort((index_key, last, -first, -scaled_scores), axis=-1)
    has_valid = n_valid > 0
    best = np.where(has_valid, order[:, 0], -1)
    worst = np.where(has_valid, order[:, -1], -1)

    # Kendall's W from exact integer sums (same formula as the reference).
    twice_rank_sums = twice_mid.sum(axis=1)  # (E, K)
    m = n_valid.astype(np.int64)
    s4 = ((twice_rank_sums - (m * (k + 1))[:, None]) ** 2).sum(axis=1)
    denominator = m * m * (k**3 - k) - m * tie_term
    with np.errstate(divide="ignore", invalid="ignore"):
        kendall_w = np.where((m >= 2) & (denominator > 0), (3 * s4) / denominator, np.nan)

    return BatchAggregate(
        k=k,
        scale=scale,
        points=points,
        scores=scores,
        scaled_scores=scaled_scores,
        first_place_votes=first,
        last_place_votes=last,
        n_valid=n_valid,
        n_invalid=n_invalid,
        valid=valid,
        order=order,
        best=best,
        worst=worst,
        pairwise_wins=pairwise_wins,
        kendall_w=kendall_w,
    )


def aggregate_items(
    items: Sequence[ItemRankings],
    *,
    allow_ties: bool = False,
    method: Literal["vectorized", "reference"] = "vectorized",
) -> list[AggregateResult]:
    """Aggregate many items, returned in input order.

    ``method="vectorized"`` groups items by K, pads judges to a common count and runs
    :func:`aggregate_rank_array`; ``method="reference"`` runs :func:`aggregate_item_reference` one
    by one. Both return identical results.
    """
    if method == "reference":
        return [aggregate_item_reference(item, allow_ties=allow_ties) for item in items]
    if method != "vectorized":
        raise ValueError(f"unknown method {method!r}")
    results: list[AggregateResult | None] = [None] * len(items)
    by_k: dict[int, list[int]] = {}
    for i, item in enumerate(items):
        by_k.setdefault(item.k, []).append(i)
    for k, indices in by_k.items():
        n_judges = max((len(items[i].judge_ids) for i in indices), default=0)
        ranks = np.zeros((len(indices), n_judges, k), dtype=np.int64)
        present = np.zeros((len(indices), n_judges), dtype=bool)
        for row, i in enumerate(indices):
            item = items[i]
            count = len(item.judge_ids)
            if count:
                ranks[row, :count] = coerce_rows(item.ranks, k, allow_ties)
                present[row, :count] = True
        batch = aggregate_rank_array(ranks, present=present, allow_ties=allow_ties)
        labels = [
            (items[i].question_id, items[i].criterion, items[i].response_ids, items[i].judge_ids)
            for i in indices
        ]
        for i, result in zip(indices, batch.results(labels), strict=True):
            results[i] = result
    return [r for r in results if r is not None]
