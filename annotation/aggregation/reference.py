"""Reference aggregation: one item at a time in plain Python loops (the study scripts' approach)."""

from __future__ import annotations

from collections.abc import Sequence

from annotation.aggregation.points import check_exact_range, rank_points, tie_scale
from annotation.aggregation.rank_vectors import row_is_valid
from annotation.aggregation.records import AggregateResult, ItemRankings


def aggregate_item_reference(item: ItemRankings, *, allow_ties: bool = False) -> AggregateResult:
    """Aggregate one item with a straightforward per-ranking Python loop.

    This mirrors how the study's scripts tally votes (for each persona's ranking, add the weight of each
    response's rank to its score). It is the executable specification the vectorised path is tested
    against; use :func:`aggregate_items` or :func:`aggregate_rank_array` for volume.
    """
    k = item.k
    points = rank_points(k)
    scale = tie_scale(k, allow_ties)
    check_exact_range(points, scale, len(item.ranks))

    scaled_scores = [0] * k  # points x scale, exact integers
    first = [0] * k
    last = [0] * k
    wins = [[0] * k for _ in range(k)]
    valid_ids: list[str] = []
    invalid_ids: list[str] = []
    twice_rank_sums = [0] * k  # sum over raters of 2 * mid-rank (exact integers)
    tie_term = 0  # sum over raters and tie groups of (t^3 - t)

    for judge_id, row in zip(item.judge_ids, item.ranks, strict=True):
        if not row_is_valid(row, k, allow_ties):
            invalid_ids.append(judge_id)
            continue
        valid_ids.append(judge_id)
        ranks = [int(v) for v in row]
        worst_rank = max(ranks)
        for r, rank in enumerate(ranks):
            if allow_ties:
                group = ranks.count(rank)
                # mean of the tied positions' points, times scale (exact: group divides scale)
                scaled_scores[r] += sum(points[rank - 1 : rank - 1 + group]) * scale // group
            else:
                group = 1
                scaled_scores[r] += points[rank - 1]
            twice_rank_sums[r] += 2 * rank + group - 1
            if rank == 1:
                first[r] += 1
            if rank == worst_rank:
                last[r] += 1
            for other in range(k):
                if rank < ranks[other]:
                    wins[r][other] += 1
        for rank in set(ranks):
            t = ranks.count(rank)
            tie_term += t**3 - t

    n_valid = len(valid_ids)
    order = sorted(range(k), key=lambda i: (-scaled_scores[i], -first[i], last[i], i))
    best = order[0] if n_valid else None
    worst = order[-1] if n_valid else None
    return AggregateResult(
        question_id=item.question_id,
        criterion=item.criterion,
        response_ids=item.response_ids,
        scores=tuple(s / scale for s in scaled_scores),  # one correctly rounded division, as numpy
        first_place_votes=tuple(first),
        last_place_votes=tuple(last),
        order=tuple(order),
        best_index=best,
        worst_index=worst,
        n_valid=n_valid,
        n_invalid=len(invalid_ids),
        valid_judge_ids=tuple(valid_ids),
        invalid_judge_ids=tuple(invalid_ids),
        pairwise_wins=tuple(tuple(row) for row in wins),
        kendall_w=_kendall_w_exact(twice_rank_sums, n_valid, k, tie_term),
        points=points,
    )


def _kendall_w_exact(twice_rank_sums: Sequence[int], m: int, n: int, tie_term: int) -> float | None:
    """W = 12 S / (m^2 (n^3 - n) - m sum T) from exact integers (``twice_rank_sums`` = 2 R_i)."""
    if m < 2:
        return None
    s4 = sum((int(x) - m * (n + 1)) ** 2 for x in twice_rank_sums)  # = 4 S
    denominator = m * m * (n**3 - n) - m * tie_term
    if denominator <= 0:
        return None
    return (3 * s4) / denominator
