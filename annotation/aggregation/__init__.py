"""Aggregation of persona (or human) rankings into scores, consensus orders and DPO preference pairs.

Django-free on purpose: the web tier, the Celery workers and the benchmarks all call it with plain data.

Data format (one *item* = one question x one criterion, judged by many raters)
------------------------------------------------------------------------------
An item's rankings travel as an :class:`ItemRankings`; its outcome is an :class:`AggregateResult`.
A ranking is a **rank vector**: ``ranks[r]`` is the rank the rater gave to response ``r`` (responses indexed
0..K-1 in the order they were shown), with ``1`` = best and ``K`` = worst. A rater's rankings for one
item form one row; many raters form an array of shape ``(n_judges, K)``; a whole study is an array of
shape ``(n_items, n_judges, K)``. Judges that answer with an *ordering* (response numbers from best to
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
    all-tied item yields no pair. Strategies: ``"best_worst"`` (the study: one pair per item),
    ``"all_pairs"`` (every pair with a positive score difference), ``"top_vs_rest"`` (best vs every response
    scoring strictly lower). Each pair carries its provenance.

Exactness
    Scores are accumulated as exact integers (points multiplied by ``scale``, the least common multiple of
    the possible tie-group sizes, 1 without ties) and divided once at the end, and Kendall's W is computed
    from exact integer sums; so the vectorised path (:func:`aggregate_rank_array`) and the per-item
    Python loop (:func:`aggregate_item_reference`) return bit-identical results.

Modules: ``points`` (the voting table), ``rank_vectors`` (validity and conversion), ``records``,
``reference`` (the per-item loop), ``vectorised`` (the numpy path), ``pairs``, ``plackett_luce_model`` and
``concordance`` (Kendall's W). The public names are re-exported here.
"""

from annotation.aggregation.concordance import KendallW, kendalls_w
from annotation.aggregation.pairs import PairStrategy, PreferencePair, extract_batch_pairs, extract_pairs
from annotation.aggregation.plackett_luce_model import PlackettLuceResult, plackett_luce
from annotation.aggregation.points import STUDY_POINTS, rank_points
from annotation.aggregation.rank_vectors import orderings_to_ranks, rank_rows_valid
from annotation.aggregation.records import AggregateResult, ItemRankings
from annotation.aggregation.reference import aggregate_item_reference
from annotation.aggregation.vectorised import BatchAggregate, aggregate_items, aggregate_rank_array

__all__ = [
    "STUDY_POINTS",
    "AggregateResult",
    "BatchAggregate",
    "ItemRankings",
    "KendallW",
    "PairStrategy",
    "PlackettLuceResult",
    "PreferencePair",
    "aggregate_item_reference",
    "aggregate_items",
    "aggregate_rank_array",
    "extract_batch_pairs",
    "extract_pairs",
    "kendalls_w",
    "orderings_to_ranks",
    "plackett_luce",
    "rank_points",
    "rank_rows_valid",
]
