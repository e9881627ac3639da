"""Aggregation of persona (or human) rankings into scores, consensus orders and DPO preference pairs.

Django-free on purpose: the web tier, the Celery workers and the benchmarks all call it with plain data.

Data format (one *evaluation* = one question x one criterion, judged by many raters)
-----------------------------------------------------------------------------------
A ranking is a **rank vector**: ``ranks[r]`` is the rank the rater gave to response ``r`` (responses indexed
0..K-1 in the order they were shown), with ``1`` = best and ``K`` = worst. A rater's rankings for one
evaluation form one row; many raters form an array of shape ``(n_judges, K)``; a whole study is an array of
shape ``(n_evaluations, n_judges, K)``. Judges that answer with an *ordering* (response numbers from best to
worst) are converted with :func:`orderings_to_ranks`.

Validity
    A strict row must be a permutation of ``1..K``. Anything else (wrong length, values out of range,
    repeats, non-integers) is **invalid**: it is discarded, counted in ``n_invalid`` and its rater is listed
    in ``invalid_judge_ids``; it never contributes points.

Ties (only when ``allow_ties=True``)
    A tied row must use *standard competition ranking* ("1224"): tied responses share the smallest
    position of their group and the next group starts at its true position, e.g. ``[1, 1, 3, 4, 5]`` or
    ``[2, 1, 2, 4, 4]``. A group of ``c`` responses with rank ``v`` occupies positions ``v..v+c-1`` and each
    member receives the **mean of those positions' points**; e.g. for K=5 ``[1, 1, 3, 4, 5]`` gives both
    tied responses ``(10 + 5) / 2 = 7.5``. Without ``allow_ties`` such rows are invalid.

Symmetric weighted voting (the study)
    Points by rank: K=5 -> 10, 5, 0, -5, -10; K=10 -> 45, 36, 27, 18, 9, -9, -18, -27, -36, -45.
    :func:`rank_points` gives the general rule that reproduces both tables. A response's aggregated score
    is the sum of its points over all valid rankings.

Consensus order and best/worst tie-breaking (deterministic)
    Responses are ordered by the key ``(-score, -first_place_votes, +last_place_votes, +index)``: higher
    total score first; equal scores -> more first-place votes first; then fewer last-place votes first; then
    the lower response index first. ``best`` is the head and ``worst`` the tail of this single total order,
    so among equal lowest scores the worst is the one with fewer first-place votes, then more last-place
    votes, then the higher index. A "first-place vote" is a rank of 1 (a tie for first counts for each tied
    response); a "last-place vote" is the row's largest rank value (``K`` in a strict ranking). With no valid
    ranking there is no best/worst.

Preference pairs
    A pair is only ever extracted when ``score(chosen) - score(rejected) > min_margin`` (default 0), so an
    all-tied evaluation yields no pair. Strategies: ``"best_worst"`` (the study: one pair per evaluation),
    ``"all_pairs"`` (every pair with a positive score difference), ``"top_vs_rest"`` (best vs every response
    scoring strictly lower). Each pair carries its provenance.

Exactness
    Scores are accumulated as exact integers (points multiplied by ``scale``, the least common multiple of
    the possible tie-group sizes, 1 without ties) and divided once at the end, and Kendall's W is computed
    from exact integer sums; so the vectorised path (:func:`aggregate_rank_array`) and the per-evaluation
    Python loop (:func:`aggregate_evaluation_reference`) return bit-identical results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = [
    "STUDY_POINTS",
    "AggregateResult",
    "BatchAggregate",
    "Evaluation",
    "KendallW",
    "PairStrategy",
    "PlackettLuceResult",
    "PreferencePair",
    "aggregate_evaluation_reference",
    "aggregate_evaluations",
    "aggregate_rank_array",
    "extract_pairs",
    "kendalls_w",
    "orderings_to_ranks",
    "plackett_luce",
    "rank_points",
    "rank_rows_valid",
]

#: The study's published voting weights (points for rank 1..K).
STUDY_POINTS: Mapping[int, tuple[int, ...]] = {
    5: (10, 5, 0, -5, -10),
    10: (45, 36, 27, 18, 9, -9, -18, -27, -36, -45),
}

PairStrategy = Literal["best_worst", "all_pairs", "top_vs_rest"]
_PAIR_STRATEGIES = ("best_worst", "all_pairs", "top_vs_rest")

# Largest magnitude that float64 represents exactly: exact integer sums must stay below it.
_EXACT_FLOAT_LIMIT = 2**53


# ---------------------------------------------------------------------------------------------------------
# Points
# ---------------------------------------------------------------------------------------------------------


def rank_points(k: int) -> tuple[int, ...]:
    """Symmetric weighted-voting points for ranks ``1..k`` (index 0 = rank 1 = best).

    General rule, derived so that it reproduces both published tables exactly:

    * the best rank gets ``C(k, 2) = k(k-1)/2`` points (10 for k=5, 45 for k=10) and the worst the negative;
    * there are ``m = floor(k/2)`` equally spaced non-zero levels on each side, so the step is
      ``C(k, 2) / m`` = ``k`` for odd ``k`` and ``k - 1`` for even ``k`` (5 for k=5, 9 for k=10);
    * rank ``r`` gets ``step * level(r)`` with ``level(r) = sign(d) * ceil(|d|)``, ``d = (k+1)/2 - r``:
      odd ``k`` gives the middle rank 0 points (k=5: 10, 5, 0, -5, -10); even ``k`` has no middle rank
      and the two central ranks get +step and -step (k=10: 45, 36, 27, 18, 9, -9, ..., -45).

    The table is antisymmetric (points sum to zero) and always integral. ``k < 2`` raises ``ValueError``.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    k = int(k)
    if k < 2:
        raise ValueError(f"rank points need at least 2 responses, got k={k}")
    top = k * (k - 1) // 2
    levels = k // 2
    step = top // levels  # exact: k for odd k, k - 1 for even k
    points = []
    for rank in range(1, k + 1):
        twice_d = (k + 1) - 2 * rank  # 2 * d, an integer
        level = (abs(twice_d) + 1) // 2  # ceil(|d|)
        points.append(step * level * (1 if twice_d > 0 else -1 if twice_d < 0 else 0))
    return tuple(points)


def _tie_scale(k: int, allow_ties: bool) -> int:
    """Multiplier that makes every tied-group mean of points an integer (lcm of 1..k), 1 without ties."""
    return math.lcm(*range(1, k + 1)) if allow_ties else 1


def _tie_point_table(k: int, scale: int) -> np.ndarray:
    """``table[v-1, c-1]`` = scaled points of each member of a tie group of size ``c`` at rank ``v``."""
    points = rank_points(k)
    table = np.zeros((k, k), dtype=np.int64)
    for v in range(1, k + 1):
        for c in range(1, k - v + 2):
            total = sum(points[v - 1 : v - 1 + c])
            table[v - 1, c - 1] = (total * scale) // c  # exact: c divides scale
    return table


# ---------------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """All rankings of one question under one criterion.

    ``ranks[j]`` is rater ``judge_ids[j]``'s rank vector over ``response_ids`` (see the module docstring).
    Rows may be malformed (wrong length, non-integers): they are counted as invalid, never used.
    """

    question_id: str
    criterion: str
    response_ids: tuple[str, ...]
    judge_ids: tuple[str, ...]
    ranks: Sequence[Sequence[object]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "response_ids", tuple(str(r) for r in self.response_ids))
        object.__setattr__(self, "judge_ids", tuple(str(j) for j in self.judge_ids))
        if len(self.judge_ids) != len(self.ranks):
            raise ValueError(
                f"{self.question_id}/{self.criterion}: {len(self.judge_ids)} judge ids for "
                f"{len(self.ranks)} rankings"
            )
        if len(set(self.response_ids)) != len(self.response_ids):
            raise ValueError(f"{self.question_id}/{self.criterion}: duplicate response ids")
        if len(self.response_ids) < 2:
            raise ValueError(f"{self.question_id}/{self.criterion}: need at least 2 responses")

    @property
    def k(self) -> int:
        return len(self.response_ids)


@dataclass(frozen=True)
class AggregateResult:
    """Aggregated outcome of one evaluation (question x criterion).

    ``scores`` are the summed symmetric-voting points per response (floats; integers unless ties were
    allowed and occurred). ``order`` is the consensus order of response indices from best to worst under the
    documented tie-breaking rule; ``best_index``/``worst_index`` are its ends (``None`` without valid
    rankings). ``pairwise_wins[i][j]`` counts valid raters who ranked response ``i`` strictly above ``j``.
    ``kendall_w`` is the tie-corrected concordance of the valid raters (``None`` with fewer than 2 of them
    or when every rater tied everything).
    """

    question_id: str
    criterion: str
    response_ids: tuple[str, ...]
    scores: tuple[float, ...]
    first_place_votes: tuple[int, ...]
    last_place_votes: tuple[int, ...]
    order: tuple[int, ...]
    best_index: int | None
    worst_index: int | None
    n_valid: int
    n_invalid: int
    valid_judge_ids: tuple[str, ...]
    invalid_judge_ids: tuple[str, ...]
    pairwise_wins: tuple[tuple[int, ...], ...]
    kendall_w: float | None
    points: tuple[int, ...] = field(default=())

    @property
    def k(self) -> int:
        return len(self.response_ids)

    @property
    def has_preference(self) -> bool:
        """True when best and worst differ in score (a best/worst pair exists)."""
        if self.best_index is None or self.worst_index is None:
            return False
        return self.scores[self.best_index] > self.scores[self.worst_index]


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


@dataclass(frozen=True)
class BatchAggregate:
    """Vectorised aggregation of ``E`` evaluations x ``J`` judge slots x ``K`` responses.

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
        """The :class:`AggregateResult` of evaluation ``index``; ``judge_ids`` align with its J slots."""
        present = len(judge_ids)
        valid = self.valid[index, :present].tolist()
        best = int(self.best[index])
        worst = int(self.worst[index])
        w = float(self.kendall_w[index])
        return AggregateResult(
            question_id=question_id,
            criterion=criterion,
            response_ids=tuple(response_ids),
            scores=tuple(self.scores[index].tolist()),
            first_place_votes=tuple(self.first_place_votes[index].tolist()),
            last_place_votes=tuple(self.last_place_votes[index].tolist()),
            order=tuple(self.order[index].tolist()),
            best_index=None if best < 0 else best,
            worst_index=None if worst < 0 else worst,
            n_valid=int(self.n_valid[index]),
            n_invalid=int(self.n_invalid[index]),
            valid_judge_ids=tuple(judge_ids[j] for j in range(present) if valid[j]),
            invalid_judge_ids=tuple(judge_ids[j] for j in range(present) if not valid[j]),
            pairwise_wins=tuple(map(tuple, self.pairwise_wins[index].tolist())),
            kendall_w=None if math.isnan(w) else w,
            points=self.points,
        )


# ---------------------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------------------


def rank_rows_valid(ranks: np.ndarray, *, allow_ties: bool = False) -> np.ndarray:
    """Boolean mask over the leading dimensions of an integer ``(..., K)`` array: which rows are valid.

    Strict: the row is a permutation of ``1..K``. With ``allow_ties``: the row is a standard competition
    ranking (sorted values ``s`` satisfy ``s[0] == 1`` and ``s[i] in {s[i-1], i+1}``).
    """
    arr = np.asarray(ranks)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"rank arrays must have an integer dtype, got {arr.dtype}")
    k = arr.shape[-1]
    s = np.sort(arr, axis=-1)
    expected = np.arange(1, k + 1, dtype=np.int64)
    if not allow_ties:
        return np.all(s == expected, axis=-1)
    ok = s[..., 0] == 1
    if k > 1:
        same = s[..., 1:] == s[..., :-1]
        starts_group = s[..., 1:] == expected[1:]
        ok &= np.all(same | starts_group, axis=-1)
    return ok


def _row_is_valid_python(row: object, k: int, allow_ties: bool) -> bool:
    """Reference (pure Python) validity check for one row of arbitrary content."""
    if isinstance(row, str | bytes) or not isinstance(row, Sequence | np.ndarray):
        return False
    values = list(row)
    if len(values) != k:
        return False
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            return False
    values = [int(v) for v in values]
    ordered = sorted(values)
    if not allow_ties:
        return ordered == list(range(1, k + 1))
    if ordered[0] != 1:
        return False
    return all(ordered[i] == ordered[i - 1] or ordered[i] == i + 1 for i in range(1, k))


def _coerce_rows(rows: Sequence[Sequence[object]], k: int, allow_ties: bool) -> np.ndarray:
    """Rows -> int64 array (n, K); rows that are malformed in shape/type become all-zero (invalid) rows."""
    out = np.zeros((len(rows), k), dtype=np.int64)
    for j, row in enumerate(rows):
        if isinstance(row, str | bytes) or not isinstance(row, Sequence | np.ndarray):
            continue
        values = list(row)
        if len(values) != k or any(
            isinstance(v, bool) or not isinstance(v, int | np.integer) for v in values
        ):
            continue
        # Values are copied even when out of range; range/permutation checks happen in the aggregator.
        # Clip to keep int64 safe for absurd magnitudes (they stay invalid: anything outside 1..K is).
        out[j] = [min(max(int(v), -1), k + 1) for v in values]
    return out


def orderings_to_ranks(orderings: Sequence[Sequence[object]] | np.ndarray, *, k: int) -> np.ndarray:
    """Convert orderings (1-based response numbers from best to worst) to rank vectors.

    ``[3, 1, 2]`` (response 3 best, then 1, then 2) becomes ranks ``[2, 3, 1]``. An ordering that is not a
    permutation of ``1..k`` becomes an all-zero row, which every aggregator counts as invalid.
    """
    out = np.zeros((len(orderings), k), dtype=np.int64)
    for j, ordering in enumerate(orderings):
        if not _row_is_valid_python(ordering, k, allow_ties=False):
            continue
        for position, response_number in enumerate(ordering):
            out[j, int(response_number) - 1] = position + 1
    return out


# ---------------------------------------------------------------------------------------------------------
# Reference implementation: one evaluation, plain Python loops (the study scripts' approach)
# ---------------------------------------------------------------------------------------------------------


def aggregate_evaluation_reference(evaluation: Evaluation, *, allow_ties: bool = False) -> AggregateResult:
    """Aggregate one evaluation with a straightforward per-ranking Python loop.

    This mirrors how the study's scripts tally votes (for each persona's ranking, add the weight of each
    response's rank to its score). It is the executable specification the vectorised path is tested
    against; use :func:`aggregate_evaluations` or :func:`aggregate_rank_array` for volume.
    """
    k = evaluation.k
    points = rank_points(k)
    scale = _tie_scale(k, allow_ties)
    _check_exact_range(points, scale, len(evaluation.ranks))

    scaled_scores = [0] * k  # points x scale, exact integers
    first = [0] * k
    last = [0] * k
    wins = [[0] * k for _ in range(k)]
    valid_ids: list[str] = []
    invalid_ids: list[str] = []
    twice_rank_sums = [0] * k  # sum over raters of 2 * mid-rank (exact integers)
    tie_term = 0  # sum over raters and tie groups of (t^3 - t)

    for judge_id, row in zip(evaluation.judge_ids, evaluation.ranks, strict=True):
        if not _row_is_valid_python(row, k, allow_ties):
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
        question_id=evaluation.question_id,
        criterion=evaluation.criterion,
        response_ids=evaluation.response_ids,
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


def _check_exact_range(points: Sequence[int], scale: int, n_judges: int) -> None:
    if max(abs(p) for p in points) * scale * max(n_judges, 1) >= _EXACT_FLOAT_LIMIT:
        raise ValueError(
            "too many judges or responses for exact tie-aware aggregation "
            f"(k={len(points)}, judges={n_judges}); disable ties or split the batch"
        )


# ---------------------------------------------------------------------------------------------------------
# Vectorised implementation: many evaluations at once
# ---------------------------------------------------------------------------------------------------------


def aggregate_rank_array(
    ranks: np.ndarray,
    *,
    present: np.ndarray | None = None,
    allow_ties: bool = False,
) -> BatchAggregate:
    """Aggregate an integer array of rank vectors, shape ``(E, J, K)``, in one vectorised pass.

    ``present`` (E, J) marks which judge slots hold a ranking (padding for evaluations with fewer judges);
    absent slots are neither valid nor invalid. Present rows that fail validation are invalid. Results are
    identical to :func:`aggregate_evaluation_reference` evaluation by evaluation.
    """
    arr = np.asarray(ranks)
    if arr.ndim != 3:
        raise ValueError(f"ranks must have shape (evaluations, judges, K), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"ranks must have an integer dtype, got {arr.dtype}")
    n_eval, n_judges, k = arr.shape
    points = rank_points(k)
    scale = _tie_scale(k, allow_ties)
    _check_exact_range(points, scale, n_judges)

    if present is None:
        present_mask = np.ones((n_eval, n_judges), dtype=bool)
    else:
        present_mask = np.asarray(present, dtype=bool)
        if present_mask.shape != (n_eval, n_judges):
            raise ValueError(f"present must have shape {(n_eval, n_judges)}, got {present_mask.shape}")

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
        table[1:, 1:] = _tie_point_table(k, scale)
        row_points = table[cmp, group]
        twice_mid = 2 * cmp.astype(np.int64) + group - 1  # 2 x mid-rank; 0 for masked rows
        tie_term = (group.astype(np.int64) ** 2 - 1).sum(axis=(1, 2))  # sum over groups of t^3 - t
    else:
        row_points = np.asarray((0, *points), dtype=np.int64)[cmp]
        twice_mid = 2 * cmp.astype(np.int64)
        tie_term = np.zeros(n_eval, dtype=np.int64)

    scaled_scores = row_points.sum(axis=1)  # exact int64, (E, K)
    scores = scaled_scores / scale if scale != 1 else scaled_scores.astype(np.float64)

    first = (cmp == 1).sum(axis=1)
    row_max = cmp.max(axis=-1, keepdims=True)
    last = ((cmp == row_max) & v3).sum(axis=1)
    pairwise_wins = (cmp[..., :, None] < cmp[..., None, :]).sum(axis=1)  # (E, K, K)

    n_valid = valid.sum(axis=1)
    n_invalid = (present_mask & ~valid).sum(axis=1)

    # Consensus order: keys (-score, -first, +last, +index); np.lexsort's last key is primary.
    index_key = np.broadcast_to(np.arange(k), (n_eval, k))
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


def aggregate_evaluations(
    evaluations: Sequence[Evaluation],
    *,
    allow_ties: bool = False,
    method: Literal["vectorized", "reference"] = "vectorized",
) -> list[AggregateResult]:
    """Aggregate many evaluations, returned in input order.

    ``method="vectorized"`` groups evaluations by K, pads judges to a common count and runs
    :func:`aggregate_rank_array`; ``method="reference"`` runs :func:`aggregate_evaluation_reference` one
    by one. Both return identical results.
    """
    if method == "reference":
        return [aggregate_evaluation_reference(e, allow_ties=allow_ties) for e in evaluations]
    if method != "vectorized":
        raise ValueError(f"unknown method {method!r}")
    results: list[AggregateResult | None] = [None] * len(evaluations)
    by_k: dict[int, list[int]] = {}
    for i, evaluation in enumerate(evaluations):
        by_k.setdefault(evaluation.k, []).append(i)
    for k, indices in by_k.items():
        n_judges = max((len(evaluations[i].judge_ids) for i in indices), default=0)
        ranks = np.zeros((len(indices), n_judges, k), dtype=np.int64)
        present = np.zeros((len(indices), n_judges), dtype=bool)
        for row, i in enumerate(indices):
            evaluation = evaluations[i]
            count = len(evaluation.judge_ids)
            if count:
                ranks[row, :count] = _coerce_rows(evaluation.ranks, k, allow_ties)
                present[row, :count] = True
        batch = aggregate_rank_array(ranks, present=present, allow_ties=allow_ties)
        for row, i in enumerate(indices):
            evaluation = evaluations[i]
            results[i] = batch.result(
                row,
                question_id=evaluation.question_id,
                criterion=evaluation.criterion,
                response_ids=evaluation.response_ids,
                judge_ids=evaluation.judge_ids,
            )
    return [r for r in results if r is not None]


# ---------------------------------------------------------------------------------------------------------
# Pair extraction
# ---------------------------------------------------------------------------------------------------------


def extract_pairs(
    results: Iterable[AggregateResult],
    *,
    strategy: PairStrategy = "best_worst",
    min_margin: float = 0.0,
) -> list[PreferencePair]:
    """Preference pairs from aggregated evaluations; only pairs whose score difference exceeds ``min_margin``.

    * ``best_worst``: the consensus best vs the consensus worst, one pair per evaluation (the study).
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


# ---------------------------------------------------------------------------------------------------------
# Plackett-Luce (choix)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlackettLuceResult:
    """Plackett-Luce strengths (log-scale, centred, higher = better) for one evaluation.

    Only strict, valid rankings are used (the model has no ties): ``n_used`` of them; ``n_invalid`` were not
    permutations and ``n_tied`` were valid competition rankings with ties, excluded. ``order`` sorts
    responses by strength (ties broken by lower index); best/worst are ``None`` with no usable ranking.
    """

    strengths: tuple[float, ...]
    order: tuple[int, ...]
    best_index: int | None
    worst_index: int | None
    n_used: int
    n_invalid: int
    n_tied: int
    method: str
    alpha: float


def plackett_luce(
    ranks: Sequence[Sequence[object]] | np.ndarray,
    *,
    k: int | None = None,
    method: Literal["opt", "ilsr", "mm"] = "opt",
    alpha: float = 0.01,
) -> PlackettLuceResult:
    """Fit a Plackett-Luce model to one evaluation's rank vectors with ``choix``.

    ``choix`` takes each ranking as a tuple of item indices from winner to loser; rank vectors are converted
    with ``argsort``. ``alpha`` regularises the fit (``opt``: Gaussian prior with variance 1/alpha, the MAP
    estimate; ``ilsr``/``mm``: pseudo-count style), which keeps strengths finite when one response wins
    every ranking (the unregularised maximum-likelihood estimate diverges there). ``k`` defaults to the
    length of the first row.
    """
    import choix  # local import: only this alternative aggregation needs it

    rows = list(ranks) if not isinstance(ranks, np.ndarray) else [list(r) for r in ranks]
    if not rows:
        raise ValueError("no rankings given")
    if k is None:
        k = len(rows[0]) if isinstance(rows[0], Sequence | np.ndarray) else 0
    if k < 2:
        raise ValueError("rankings must cover at least 2 responses")
    data: list[tuple[int, ...]] = []
    n_invalid = 0
    n_tied = 0
    for row in rows:
        if _row_is_valid_python(row, k, allow_ties=False):
            data.append(tuple(int(i) for i in np.argsort(np.asarray(row, dtype=np.int64), kind="stable")))
        elif _row_is_valid_python(row, k, allow_ties=True):
            n_tied += 1
        else:
            n_invalid += 1
    if not data:
        return PlackettLuceResult(
            strengths=(0.0,) * k,
            order=tuple(range(k)),
            best_index=None,
            worst_index=None,
            n_used=0,
            n_invalid=n_invalid,
            n_tied=n_tied,
            method=method,
            alpha=alpha,
        )
    if method == "opt":
        params = choix.opt_rankings(k, data, alpha=alpha)
    elif method == "ilsr":
        params = choix.ilsr_rankings(k, data, alpha=alpha)
    elif method == "mm":
        params = choix.mm_rankings(k, data, alpha=alpha)
    else:
        raise ValueError(f"unknown method {method!r}")
    params = np.asarray(params, dtype=np.float64)
    params = params - params.mean()
    order = tuple(int(i) for i in sorted(range(k), key=lambda i: (-params[i], i)))
    return PlackettLuceResult(
        strengths=tuple(float(p) for p in params),
        order=order,
        best_index=order[0],
        worst_index=order[-1],
        n_used=len(data),
        n_invalid=n_invalid,
        n_tied=n_tied,
        method=method,
        alpha=alpha,
    )


# ---------------------------------------------------------------------------------------------------------
# Kendall's W
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KendallW:
    """Kendall's coefficient of concordance with its chi-square test.

    ``w`` in [0, 1] (``nan`` when undefined); ``chi2 = m (n - 1) W`` with ``df = n - 1`` (the Friedman
    statistic, tie-corrected when ``tie_corrected``); ``p_value`` from the chi-square approximation.
    """

    w: float
    chi2: float
    df: int
    p_value: float
    n_raters: int
    n_items: int
    tie_corrected: bool


def kendalls_w(ratings: Sequence[Sequence[float]] | np.ndarray, *, tie_correction: bool = True) -> KendallW:
    """Kendall's W for ``m`` raters (rows) who each ranked or scored the same ``n`` items (columns).

    Each row is re-ranked with average ranks for ties (so rank vectors, mid-ranks or any ordinal scores
    work, as long as all raters use the same direction). ``W = 12 S / (m^2 (n^3 - n) - m sum T)`` with
    ``S`` the sum of squared deviations of the item rank sums from their mean and
    ``T = sum (t^3 - t)`` over each rater's tie groups (omitted when ``tie_correction`` is false).
    Rows containing NaN are not allowed (drop incomplete raters first).
    """
    from scipy import stats

    matrix = np.asarray(ratings, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"ratings must be 2-D (raters x items), got shape {matrix.shape}")
    m, n = matrix.shape
    if m < 2 or n < 2:
        raise ValueError("Kendall's W needs at least 2 raters and 2 items")
    if np.isnan(matrix).any():
        raise ValueError("ratings contain NaN")
    ranked = np.vstack([stats.rankdata(row, method="average") for row in matrix])
    rank_sums = ranked.sum(axis=0)
    s = float(((rank_sums - rank_sums.mean()) ** 2).sum())
    tie_term = 0.0
    if tie_correction:
        for row in matrix:
            _, counts = np.unique(row, return_counts=True)
            tie_term += float((counts.astype(np.float64) ** 3 - counts).sum())
    denominator = m * m * (n**3 - n) - m * tie_term
    w = 12.0 * s / denominator if denominator > 0 else float("nan")
    df = n - 1
    chi2 = m * df * w if not math.isnan(w) else float("nan")
    p_value = float(stats.chi2.sf(chi2, df)) if not math.isnan(chi2) else float("nan")
    return KendallW(
        w=w, chi2=chi2, df=df, p_value=p_value, n_raters=m, n_items=n, tie_corrected=tie_correction
    )
