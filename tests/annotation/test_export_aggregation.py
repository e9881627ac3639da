"""The batched aggregation the export relies on gives exactly what the per-item API gives: batched results,
pairs extracted on the batch's arrays, and the vectorised coercion of well-formed rank rows."""

import numpy as np
import pytest

from annotation.aggregation import aggregate_rank_array, extract_batch_pairs, extract_pairs
from annotation.aggregation.rank_vectors import coerce_rows


def _batch(seed: int, k: int, allow_ties: bool):
    """Random rank vectors with absent slots, invalid rows (repeats, out of range) and ties."""
    rng = np.random.default_rng(seed)
    items, judges = 40, 7
    ranks = np.argsort(rng.random((items, judges, k)), axis=-1) + 1
    ranks[rng.random((items, judges)) < 0.15, 0] = k + 3  # out of range
    tied = rng.random((items, judges)) < 0.2
    ranks[tied, 1] = ranks[tied, 0]  # repeats: ties when allowed (if standard competition), else invalid
    ranks[3] = 1  # an item where everyone ties everything
    present = rng.random((items, judges)) < 0.85
    present[5] = False  # an item nobody ranked
    labels = [
        (f"q{i}", "empathy", [f"r{i}-{j}" for j in range(k)], [f"judge-{i}-{j}" for j in range(judges)])
        for i in range(items)
    ]
    return aggregate_rank_array(ranks, present=present, allow_ties=allow_ties), labels


@pytest.mark.parametrize("strategy", ["best_worst", "all_pairs", "top_vs_rest"])
@pytest.mark.parametrize("min_margin", [0.0, 7.5])
@pytest.mark.parametrize(("k", "allow_ties"), [(5, False), (5, True), (4, True), (10, False)])
def test_batch_pairs_are_the_pairs_of_the_batch_results(strategy, min_margin, k, allow_ties):
    batch, labels = _batch(seed=k + 10 * allow_ties, k=k, allow_ties=allow_ties)
    results = batch.results(labels)
    assert results == [
        batch.result(i, question_id=q, criterion=c, response_ids=r, judge_ids=j)
        for i, (q, c, r, j) in enumerate(labels)
    ]
    per_item = extract_batch_pairs(batch, labels, strategy=strategy, min_margin=min_margin)
    assert [pair for pairs in per_item for pair in pairs] == extract_pairs(
        results, strategy=strategy, min_margin=min_margin
    )
    assert all(pair.question_id == labels[i][0] for i, pairs in enumerate(per_item) for pair in pairs)
    assert sum(map(len, per_item)) > 0 and any(not pairs for pairs in per_item)


def test_batch_pairs_refuse_what_extract_pairs_refuses():
    batch, labels = _batch(seed=1, k=5, allow_ties=False)
    with pytest.raises(ValueError, match="unknown strategy"):
        extract_batch_pairs(batch, labels, strategy="random")
    with pytest.raises(ValueError, match="min_margin"):
        extract_batch_pairs(batch, labels, min_margin=-1)


WELL_FORMED = [
    [1, 2, 3, 4, 5],
    [5, 4, 3, 2, 1],
    [0, 9, -3, 2, 1],
    [1, 1, 3, 4, 5],
    [10**12, 2, 3, 4, -(10**12)],
]


@pytest.mark.parametrize(
    ("odd_row", "coerced"),
    [
        ([1, 2, 3, 4], [0] * 5),  # wrong length
        ([1, 2, 3, 4, 5.0], [0] * 5),  # a float
        ([True, 2, 3, 4, 5], [0] * 5),  # a boolean
        ("12345", [0] * 5),
        (None, [0] * 5),
        ((1, 2, 3, 4, 5), [1, 2, 3, 4, 5]),  # not a list, still a sequence of ints
        ([10**30, 2, 3, 4, 5], [6, 2, 3, 4, 5]),  # beyond int64: clipped like any out-of-range value
    ],
)
def test_coercion_of_well_formed_rows_matches_the_row_by_row_rules(odd_row, coerced):
    """Well-formed rows take the vectorised path; adding one odd row forces the row-by-row path for all."""
    fast = coerce_rows(WELL_FORMED, 5, False)
    slow = coerce_rows([*WELL_FORMED, odd_row], 5, False)
    assert fast.dtype == slow.dtype == np.int64
    assert (fast == slow[:-1]).all()
    assert fast[4].tolist() == [6, 2, 3, 4, -1]  # clipped to [-1, K+1], still invalid
    assert slow[-1].tolist() == coerced
