"""Symmetric weighted voting, tie rules, pair extraction, Plackett-Luce and Kendall's W (no Django)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from annotation.aggregation import (
    STUDY_POINTS,
    ItemRankings,
    aggregate_item_reference,
    aggregate_items,
    aggregate_rank_array,
    extract_pairs,
    kendalls_w,
    orderings_to_ranks,
    plackett_luce,
    rank_points,
    rank_rows_valid,
)

RESPONSES5 = ("r1", "r2", "r3", "r4", "r5")


def _item(rows, *, k=5, question_id="q1", criterion="empathy", judge_ids=None):
    judge_ids = judge_ids or tuple(f"p{j}" for j in range(len(rows)))
    return ItemRankings(
        question_id=question_id,
        criterion=criterion,
        response_ids=tuple(f"r{i + 1}" for i in range(k)),
        judge_ids=tuple(judge_ids),
        ranks=[list(r) if isinstance(r, tuple) else r for r in rows],
    )


def _both(item, *, allow_ties=False):
    reference = aggregate_item_reference(item, allow_ties=allow_ties)
    (vectorised,) = aggregate_items([item], allow_ties=allow_ties)
    assert vectorised == reference
    return reference


# --- points ---------------------------------------------------------------------------------------


def test_rank_points_reproduce_both_published_tables_exactly():
    assert rank_points(5) == (10, 5, 0, -5, -10)
    assert rank_points(10) == (45, 36, 27, 18, 9, -9, -18, -27, -36, -45)
    for k, table in STUDY_POINTS.items():
        assert rank_points(k) == table


@pytest.mark.parametrize("k", range(2, 21))
def test_rank_points_general_rule_is_symmetric_integral_and_strictly_decreasing(k):
    points = rank_points(k)
    assert len(points) == k
    assert points[0] == k * (k - 1) // 2
    assert sum(points) == 0
    assert all(points[i] == -points[k - 1 - i] for i in range(k))
    assert all(a > b for a, b in itertools.pairwise(points))
    assert (k % 2 == 1) == (0 in points)


@pytest.mark.parametrize("bad", [0, 1, -3])
def test_rank_points_rejects_fewer_than_two_responses(bad):
    with pytest.raises(ValueError):
        rank_points(bad)
    with pytest.raises(TypeError):
        rank_points(True)


# --- one item by hand -----------------------------------------------------------------------------


def test_scores_are_sums_of_points_and_best_worst_follow():
    # Ranks per response (1 = best). Judge p0: r1 best ... r5 worst; p1: r2 best, r1 second; p2 like p0.
    rows = [(1, 2, 3, 4, 5), (2, 1, 3, 5, 4), (1, 2, 3, 4, 5)]
    result = _both(_item(rows))
    assert result.scores == (25.0, 20.0, 0.0, -20.0, -25.0)
    assert result.first_place_votes == (2, 1, 0, 0, 0)
    assert result.last_place_votes == (0, 0, 0, 1, 2)
    assert result.order == (0, 1, 2, 3, 4)
    assert (result.best_index, result.worst_index) == (0, 4)
    assert result.n_valid == 3 and result.n_invalid == 0
    assert result.pairwise_wins[0][1] == 2 and result.pairwise_wins[1][0] == 1
    assert result.has_preference


def test_invalid_rankings_are_discarded_counted_and_never_used():
    rows = [
        (1, 2, 3, 4, 5),  # valid
        (1, 1, 3, 4, 5),  # tie: invalid without allow_ties
        (1, 2, 3, 4, 6),  # out of range
        (0, 1, 2, 3, 4),  # zero-based by mistake
        (1, 2, 3, 4),  # wrong length
        "12345",  # not a sequence of ints
        None,
        (1.0, 2, 3, 4, 5),  # float
        (True, 2, 3, 4, 5),  # bool is not a rank
        (5, 4, 3, 2, 1),  # valid
    ]
    result = _both(_item(rows))
    assert result.n_valid == 2
    assert result.n_invalid == 8
    assert result.valid_judge_ids == ("p0", "p9")
    assert result.invalid_judge_ids == tuple(f"p{j}" for j in range(1, 9))
    assert result.scores == (0.0, 0.0, 0.0, 0.0, 0.0)  # the two valid rankings cancel out exactly
    assert not result.has_preference
    assert extract_pairs([result]) == []


def test_no_valid_ranking_means_no_best_worst_and_no_pair():
    result = _both(_item([(1, 1, 1, 1, 1), (9, 9, 9, 9, 9)]))
    assert result.n_valid == 0 and result.n_invalid == 2
    assert result.best_index is None and result.worst_index is None
    assert result.kendall_w is None
    assert extract_pairs([result]) == []


def test_empty_item_is_allowed():
    result = _both(_item([], judge_ids=()))
    assert result.n_valid == 0 and result.best_index is None


# --- ties -----------------------------------------------------------------------------------------


def test_ties_share_the_mean_of_their_positions_points_when_allowed():
    rows = [(1, 1, 3, 4, 5)]
    assert _both(_item(rows)).n_invalid == 1
    result = _both(_item(rows), allow_ties=True)
    assert result.n_valid == 1
    assert result.scores == (7.5, 7.5, 0.0, -5.0, -10.0)
    assert result.first_place_votes == (1, 1, 0, 0, 0)


def test_tie_rows_must_be_standard_competition_rankings():
    assert _both(_item([(1, 1, 2, 3, 4)]), allow_ties=True).n_invalid == 1  # dense ranking: invalid
    assert _both(_item([(2, 1, 2, 4, 4)]), allow_ties=True).n_valid == 1  # 1 2 2 4 4
    assert _both(_item([(1, 1, 1, 1, 1)]), allow_ties=True).n_valid == 1  # all tied
    assert _both(_item([(3, 3, 3, 3, 3)]), allow_ties=True).n_invalid == 1


def test_ten_way_ties_across_the_zero_gap_are_exact():
    # K=10: a tie of ranks 5-6 shares (9 + -9) / 2 = 0; a 7-way tie for first shares 108/7 (not dyadic).
    row_a = (1, 2, 3, 4, 5, 5, 7, 8, 9, 10)
    row_b = (1, 1, 1, 1, 1, 1, 1, 8, 9, 10)
    result = _both(_item([row_a, row_b], k=10), allow_ties=True)
    seven = Fraction(45 + 36 + 27 + 18 + 9 - 9 - 18, 7)
    assert result.scores[4] == float(Fraction(0) + seven)
    assert result.scores[5] == float(Fraction(0) + seven)
    assert result.scores[0] == float(45 + seven)
    assert result.scores[9] == -90.0


def test_all_tied_ranking_gives_everyone_zero_and_w_undefined():
    result = _both(_item([(1, 1, 1, 1, 1), (1, 1, 1, 1, 1)]), allow_ties=True)
    assert result.scores == (0.0,) * 5
    assert result.kendall_w is None


# --- tie-breaking ---------------------------------------------------------------------------------


def test_equal_scores_are_broken_by_first_place_votes():
    # r1: 10 + -5 = 5 (one first place); r2: 5 + 0 = 5 (none) -> r1 ahead of r2.
    rows = [(1, 2, 3, 4, 5), (4, 3, 5, 1, 2)]
    result = _both(_item(rows))
    assert result.scores[0] == result.scores[1] == 5.0
    assert result.order.index(0) < result.order.index(1)


def test_equal_scores_and_firsts_are_broken_by_fewer_last_places_then_index():
    # r1 ranks 1, 5, 3 -> 10 - 10 + 0 = 0; r2 ranks 4, 1, 4 -> -5 + 10 - 5 = 0. One first place each;
    # r1 has a last place, r2 does not -> r2 ahead.
    rows = [(1, 4, 2, 3, 5), (5, 1, 2, 3, 4), (3, 4, 1, 2, 5)]
    result = _both(_item(rows))
    assert result.scores[0] == result.scores[1]
    assert result.first_place_votes[0] == result.first_place_votes[1]
    assert result.last_place_votes[0] > result.last_place_votes[1]
    assert result.order.index(1) < result.order.index(0)
    # Perfectly symmetric: two opposite rankings -> everything tied, index decides; no pair though.
    result = _both(_item([(1, 2, 3, 4, 5), (5, 4, 3, 2, 1)]))
    # r1 and r5 have a first place each (ahead), r2-r4 none; remaining ties go by index.
    assert result.order == (0, 4, 1, 2, 3)
    assert result.best_index == 0 and result.worst_index == 3
    assert not result.has_preference


def test_worst_is_the_tail_of_the_same_total_order():
    # r4 and r5 tie at the bottom on score; r5 has more last places -> r5 is worst.
    rows = [(1, 2, 3, 5, 4), (1, 2, 3, 4, 5), (1, 2, 3, 4, 5), (1, 2, 3, 5, 4)]
    result = _both(_item(rows))
    assert result.scores[3] == result.scores[4]
    assert result.worst_index in (3, 4)
    assert result.order[-1] == result.worst_index


# --- vectorised == reference ----------------------------------------------------------------------


def _random_study(rng, n_items, n_judges, k, *, noise=0.05, ties=0.0):
    ranks = np.argsort(rng.random((n_items, n_judges, k)), axis=-1).argsort(axis=-1) + 1
    bad = rng.random((n_items, n_judges)) < noise
    ranks[bad, 0] = ranks[bad, 1]  # duplicate -> not a permutation (a tie, valid only if competition-style)
    tied = rng.random((n_items, n_judges)) < ties
    # Competition-style tie for first between the two responses ranked 1 and 2.
    for e, j in zip(*np.nonzero(tied), strict=True):
        row = ranks[e, j]
        row[row == 2] = 1
    return ranks


@pytest.mark.parametrize("k", [5, 10])
@pytest.mark.parametrize("allow_ties", [False, True])
def test_vectorised_and_reference_are_identical_on_random_data(k, allow_ties):
    rng = np.random.default_rng(20260216 + k)
    ranks = _random_study(rng, 300, 12, k, noise=0.08, ties=0.1)
    judge_counts = rng.integers(0, 13, size=300)  # variable number of judges -> padding path
    items = [
        _item(
            [list(map(int, row)) for row in ranks[e, : judge_counts[e]]],
            k=k,
            question_id=f"q{e}",
            judge_ids=tuple(f"p{e}-{j}" for j in range(judge_counts[e])),
        )
        for e in range(300)
    ]
    reference = aggregate_items(items, method="reference", allow_ties=allow_ties)
    vectorised = aggregate_items(items, allow_ties=allow_ties)
    assert vectorised == reference
    assert sum(r.n_invalid for r in reference) > 0
    batch = aggregate_rank_array(ranks, allow_ties=allow_ties)
    for e in (0, 1, 2):
        full = aggregate_item_reference(
            _item([list(map(int, r)) for r in ranks[e]], k=k, question_id=f"q{e}"),
            allow_ties=allow_ties,
        )
        assert tuple(batch.scores[e]) == full.scores
        assert tuple(batch.order[e]) == full.order
        assert (np.isnan(batch.kendall_w[e]) and full.kendall_w is None) or batch.kendall_w[
            e
        ] == full.kendall_w


def test_mixed_k_batches_keep_input_order():
    items = [
        _item([(1, 2, 3, 4, 5)], question_id="a"),
        _item([tuple(range(1, 11))], k=10, question_id="b"),
        _item([(2, 1, 3, 4, 5)], question_id="c"),
    ]
    results = aggregate_items(items)
    assert [r.question_id for r in results] == ["a", "b", "c"]
    assert results == aggregate_items(items, method="reference")


def test_rank_rows_valid_requires_integer_arrays():
    with pytest.raises(TypeError):
        rank_rows_valid(np.array([[1.0, 2.0]]))
    mask = rank_rows_valid(np.array([[1, 2, 3], [1, 1, 3], [1, 1, 2]]), allow_ties=True)
    assert mask.tolist() == [True, True, False]


def test_exactness_guard_refuses_batches_that_could_round():
    with pytest.raises(ValueError, match="exact"):
        aggregate_rank_array(np.zeros((1, 210_000, 20), dtype=np.int8), allow_ties=True)


def test_orderings_convert_to_ranks_and_invalid_orderings_become_invalid_rows():
    ranks = orderings_to_ranks([[3, 1, 2], [1, 1, 2], [2, 3, 1]], k=3)
    assert ranks.tolist() == [[2, 3, 1], [0, 0, 0], [3, 1, 2]]
    result = _both(_item(ranks.tolist(), k=3))
    assert result.n_invalid == 1


# --- pairs ----------------------------------------------------------------------------------------


def test_best_worst_pair_keeps_provenance():
    rows = [(1, 2, 3, 4, 5), (2, 1, 3, 5, 4), (1, 2, 3, 4, 5), (1, 2, 2, 4, 5)]
    result = _both(_item(rows, judge_ids=("alice", "bob", "carol", "dave")))
    (pair,) = extract_pairs([result])
    assert (pair.question_id, pair.criterion, pair.strategy) == ("q1", "empathy", "best_worst")
    assert (pair.chosen_response_id, pair.rejected_response_id) == ("r1", "r5")
    assert pair.score_difference == pair.chosen_score - pair.rejected_score == 50.0
    assert pair.judge_ids == ("alice", "bob", "carol")  # dave's tied ranking was invalid
    assert pair.n_judges == 3
    assert pair.judge_agreement == 1.0


def test_all_pairs_and_top_vs_rest_only_emit_positive_differences():
    rows = [(1, 2, 3, 4, 5), (1, 3, 2, 4, 5)]  # r2 and r3 tie on score (5 + 0 each)
    result = _both(_item(rows))
    all_pairs = extract_pairs([result], strategy="all_pairs")
    assert len(all_pairs) == 10 - 1
    assert all(p.score_difference > 0 for p in all_pairs)
    assert {(p.chosen_index, p.rejected_index) for p in all_pairs} >= {(0, 4), (1, 3), (2, 3)}
    top = extract_pairs([result], strategy="top_vs_rest")
    assert [(p.chosen_index, p.rejected_index) for p in top] == [(0, j) for j in result.order[1:]]
    assert extract_pairs([result], strategy="all_pairs", min_margin=20.0) == [
        p for p in all_pairs if p.score_difference > 20.0
    ]
    with pytest.raises(ValueError):
        extract_pairs([result], strategy="nope")  # type: ignore[arg-type]


def test_one_best_worst_pair_per_item_at_scale():
    rng = np.random.default_rng(7)
    items = [
        _item([list(map(int, r)) for r in _random_study(rng, 1, 50, 5, noise=0.0)[0]], question_id=f"q{i}")
        for i in range(40)
    ]
    results = aggregate_items(items)
    pairs = extract_pairs(results)
    assert len(pairs) == sum(r.has_preference for r in results)
    assert len({p.question_id for p in pairs}) == len(pairs)


# --- Plackett-Luce --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["opt", "ilsr", "mm"])
def test_plackett_luce_recovers_a_clear_consensus(method):
    rows = [(1, 2, 3, 4, 5)] * 30 + [(2, 1, 3, 4, 5)] * 10 + [(1, 2, 4, 3, 5)] * 10
    result = plackett_luce(rows, method=method, alpha=0.1)
    assert result.order == (0, 1, 2, 3, 4)
    assert (result.best_index, result.worst_index) == (0, 4)
    assert result.n_used == 50
    assert all(np.isfinite(result.strengths))
    assert abs(sum(result.strengths)) < 1e-9  # centred


def test_plackett_luce_excludes_invalid_and_tied_rows_and_stays_finite_when_unanimous():
    rows = [(1, 2, 3, 4, 5)] * 20 + [(1, 1, 3, 4, 5), (1, 2, 3, 4, 9)]
    result = plackett_luce(rows)
    assert (result.n_used, result.n_tied, result.n_invalid) == (20, 1, 1)
    assert all(np.isfinite(result.strengths))
    assert result.best_index == 0 and result.worst_index == 4
    empty = plackett_luce([(1, 1, 1, 1, 1)])
    assert empty.best_index is None and empty.n_used == 0


# --- Kendall's W ----------------------------------------------------------------------------------


def test_kendalls_w_textbook_example_without_ties():
    """Siegel, S. (1956). Nonparametric Statistics for the Behavioral Sciences, ch. 9 (Kendall coefficient of
    concordance W): three judges rank six objects. Rank sums R_j = 8, 14, 11, 11, 11, 8; s = 25.5;
    W = 12 * 25.5 / (3^2 * (6^3 - 6)) = 306 / 1890 = 0.162 (reported as .16)."""
    ratings = [
        [1, 6, 3, 2, 5, 4],
        [1, 5, 6, 4, 2, 3],
        [6, 3, 2, 5, 4, 1],
    ]
    result = kendalls_w(ratings)
    assert result.w == pytest.approx(306 / 1890, abs=1e-12)
    assert round(result.w, 2) == 0.16
    assert result.chi2 == pytest.approx(3 * 5 * 306 / 1890)
    assert result.df == 5
    friedman = stats.friedmanchisquare(*np.asarray(ratings).T)
    assert result.chi2 == pytest.approx(friedman.statistic)
    assert result.p_value == pytest.approx(friedman.pvalue)


def test_kendalls_w_with_ties_uses_the_correction():
    """Hand-worked tie example (mid-ranks; T = sum(t^3 - t) per rater), checked two ways:
    raters [1,2,3,4], [1.5,1.5,3,4], [1,3,2,4] -> R = 3.5, 6.5, 8, 12; S = 37.5; T = 2^3 - 2 = 6;
    W = 12 * 37.5 / (9 * 60 - 3 * 6) = 450 / 522 = 25/29. The chi-square m(n-1)W equals scipy's
    tie-corrected Friedman statistic (an independent implementation of the same correction)."""
    ratings = [[1, 2, 3, 4], [1.5, 1.5, 3, 4], [1, 3, 2, 4]]
    result = kendalls_w(ratings)
    assert result.w == pytest.approx(25 / 29, abs=1e-12)
    uncorrected = kendalls_w(ratings, tie_correction=False)
    assert uncorrected.w == pytest.approx(450 / 540)
    friedman = stats.friedmanchisquare(*np.asarray(ratings).T)
    assert result.chi2 == pytest.approx(friedman.statistic)
    # Competition-style integer ties ([1, 1, 3, 4]) mean the same thing.
    assert kendalls_w([[1, 2, 3, 4], [1, 1, 3, 4], [1, 3, 2, 4]]).w == pytest.approx(25 / 29)


def test_kendalls_w_extremes_and_errors():
    assert kendalls_w([[1, 2, 3, 4, 5]] * 4).w == pytest.approx(1.0)
    assert kendalls_w([[1, 2, 3], [3, 2, 1]]).w == pytest.approx(0.0)
    with pytest.raises(ValueError):
        kendalls_w([[1, 2, 3]])
    with pytest.raises(ValueError):
        kendalls_w([[1, 2, np.nan], [1, 2, 3]])


def test_per_item_w_matches_the_standalone_function():
    rows = [(1, 2, 3, 4, 5), (2, 1, 3, 5, 4), (1, 3, 2, 4, 5), (1, 1, 3, 4, 5), (3, 3, 3, 3, 3)]
    result = _both(_item(rows), allow_ties=True)
    valid_rows = [rows[i] for i in range(4)]
    assert result.kendall_w == pytest.approx(kendalls_w(valid_rows).w, abs=1e-12)
