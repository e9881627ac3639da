"""Head-to-head statistics: position handling, majority vote, win rates, matrix and Pareto front."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar

from evaluation.stats.winrates import (
    Judgement,
    PositionJudgement,
    combine_orders,
    empathy_safety_front,
    head_to_head,
    majority_vote,
    majority_vote_counts,
    pareto_front,
    resolve_positions,
    to_model_outcome,
    wilson_interval,
    win_rate,
    win_rate_from_counts,
    win_rate_from_vote_counts,
    win_rate_matrix,
)

# --------------------------------------------------------------------------------------------------
# Position handling
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "first_model", "expected"),
    [
        ("first", "A", "A"),
        ("second", "A", "B"),
        ("first", "B", "B"),
        ("second", "B", "A"),
        ("tie", "A", "tie"),
        ("tie", "B", "tie"),
    ],
)
def test_to_model_outcome(verdict, first_model, expected):
    assert to_model_outcome(verdict=verdict, first_model=first_model) == expected


def test_to_model_outcome_rejects_unknown_values():
    with pytest.raises(ValueError, match="verdict"):
        to_model_outcome(verdict="failed", first_model="A")
    with pytest.raises(ValueError, match="first_model"):
        to_model_outcome(verdict="first", first_model="C")


@pytest.mark.parametrize(
    ("a_first", "b_first", "expected"),
    [
        ("A", "A", "A"),
        ("B", "B", "B"),
        ("tie", "tie", "tie"),
        ("A", "B", "tie"),  # position bias: each order prefers the answer shown first
        ("A", "tie", "tie"),
        ("tie", "B", "tie"),
    ],
)
def test_combine_orders_counts_only_consistent_verdicts(a_first, b_first, expected):
    assert combine_orders(a_first=a_first, b_first=b_first) == expected


def test_resolve_positions_maps_and_combines():
    judgements = [
        # q1/p1: "first" both times -> A when A first, B when B first -> inconsistent -> tie
        PositionJudgement("q1", "p1", "empathy", "first", "A"),
        PositionJudgement("q1", "p1", "empathy", "first", "B"),
        # q1/p2: A wins in both orders -> A
        PositionJudgement("q1", "p2", "empathy", "first", "A"),
        PositionJudgement("q1", "p2", "empathy", "second", "B"),
        # q2/p1: one order only -> mapped as is
        PositionJudgement("q2", "p1", "empathy", "first", "B"),
    ]
    resolved = resolve_positions(judgements=judgements)
    assert resolved == [
        Judgement("q1", "p1", "empathy", "tie"),
        Judgement("q1", "p2", "empathy", "A"),
        Judgement("q2", "p1", "empathy", "B"),
    ]
    with pytest.raises(ValueError, match="one order only"):
        resolve_positions(judgements=judgements, require_both_orders=True)
    with pytest.raises(ValueError, match="duplicate"):
        resolve_positions(judgements=[*judgements, PositionJudgement("q2", "p1", "empathy", "tie", "B")])


# --------------------------------------------------------------------------------------------------
# Majority vote
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "plurality", "decisive"),
    [
        ((3, 2, 0), "A", "A"),
        ((2, 3, 0), "B", "B"),
        ((2, 2, 1), "tie", "tie"),  # A and B tied at the top
        ((1, 0, 3), "tie", "A"),  # tie votes are the plurality; decisive rule ignores them
        ((2, 1, 2), "tie", "A"),  # A and tie tied at the top
        ((0, 0, 5), "tie", "tie"),
        ((4, 1, 3), "A", "A"),
    ],
)
def test_majority_vote_rules(counts, plurality, decisive):
    n_a, n_b, n_tie = counts
    assert majority_vote(n_a=n_a, n_b=n_b, n_tie=n_tie) == plurality
    assert majority_vote(n_a=n_a, n_b=n_b, n_tie=n_tie, rule="decisive") == decisive


def test_majority_vote_counts_is_vectorised_and_rejects_empty_questions():
    out = majority_vote_counts(n_a=[3, 2, 1], n_b=[2, 3, 1], n_tie=[0, 0, 1])
    assert out.tolist() == ["A", "B", "tie"]
    with pytest.raises(ValueError, match="no votes"):
        majority_vote_counts(n_a=[1, 0], n_b=[0, 0], n_tie=[0, 0])
    with pytest.raises(ValueError, match="rule"):
        majority_vote(n_a=1, n_b=0, n_tie=0, rule="unanimous")


# --------------------------------------------------------------------------------------------------
# Win rate, Wilson interval, exact McNemar
# --------------------------------------------------------------------------------------------------


def test_wilson_interval_known_case():
    # 8 successes out of 10, 95%: Wilson (1927) score interval.
    low, high = wilson_interval(successes=8, n=10)
    z = 1.959963984540054
    p, n = 0.8, 10
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert low == pytest.approx(centre - half, abs=1e-12)
    assert high == pytest.approx(centre + half, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert all(math.isnan(v) for v in wilson_interval(successes=0, n=0))


def test_exact_mcnemar_known_table():
    # Discordant cells 9 and 1: p = 2 * P(X <= 1 | n=10, 1/2) = 2 * (1 + 10) / 1024.
    result = win_rate_from_counts(wins=9, losses=1, ties=5, model_a="m", model_b="base", criterion="empathy")
    assert result.p_value == pytest.approx(22 / 1024, abs=1e-15)
    assert result.mcnemar_statistic == 1
    assert result.p_value == pytest.approx(binomtest(9, 10, 0.5).pvalue)
    assert result.p_value == pytest.approx(mcnemar([[40, 9], [1, 50]], exact=True).pvalue)


def test_win_rate_counts_and_definitions():
    outcomes = ["A"] * 7 + ["B"] * 3 + ["tie"] * 2
    r = win_rate(outcomes=outcomes, model_a="modpo", model_b="base", criterion="safety")
    assert (r.wins, r.losses, r.ties, r.n_questions) == (7, 3, 2, 12)
    assert r.win_rate == pytest.approx(0.7)  # headline: ties excluded
    assert r.win_share == pytest.approx(7 / 12)
    assert r.p_value == pytest.approx(2 * (1 + 10 + 45 + 120) / 1024)
    assert (r.ci_low, r.ci_high) == pytest.approx(wilson_interval(successes=7, n=10))
    assert (r.win_share_ci_low, r.win_share_ci_high) == pytest.approx(wilson_interval(successes=7, n=12))
    s = r.swapped()
    assert (s.model_a, s.wins, s.losses, s.ties) == ("base", 3, 7, 2)
    assert s.win_rate == pytest.approx(1 - r.win_rate)
    assert s.p_value == pytest.approx(r.p_value)


def test_win_rate_all_ties_and_invalid_outcomes():
    r = win_rate(outcomes=["tie", "tie"], model_a="a", model_b="b", criterion="c")
    assert math.isnan(r.win_rate) and r.win_share == 0 and r.p_value == 1
    empty = win_rate(outcomes=[], model_a="a", model_b="b", criterion="c")
    assert empty.n_questions == 0 and math.isnan(empty.win_share)
    with pytest.raises(ValueError, match="judge failures"):
        win_rate(outcomes=["A", "error"], model_a="a", model_b="b", criterion="c")


# --------------------------------------------------------------------------------------------------
# Head to head from judgements
# --------------------------------------------------------------------------------------------------

HAND_JUDGEMENTS = [
    Judgement(q, p, "empathy", o)
    for q, votes in {
        "q1": ("A", "A", "B"),  # A
        "q2": ("B", "B", "tie"),  # B
        "q3": ("A", "B", "tie"),  # tie
        "q4": ("A", "tie", "tie"),  # plurality: tie; decisive: A
    }.items()
    for p, o in zip(("p1", "p2", "p3"), votes, strict=True)
] + [
    Judgement(q, p, "safety", o)
    for q, votes in {"q1": ("tie", "tie", "tie"), "q2": ("A", "A", "A")}.items()
    for p, o in zip(("p1", "p2", "p3"), votes, strict=True)
]


def test_head_to_head_hand_example_plurality():
    h2h = head_to_head(judgements=HAND_JUDGEMENTS, model_a="modpo", model_b="base")
    assert h2h.n_judgements == 18
    assert h2h.question_outcomes["empathy"] == {"q1": "A", "q2": "B", "q3": "tie", "q4": "tie"}
    emp = h2h.results["empathy"]
    assert (emp.wins, emp.losses, emp.ties) == (1, 1, 2)
    assert emp.win_rate == pytest.approx(0.5) and emp.win_share == pytest.approx(0.25)
    assert emp.p_value == pytest.approx(1.0)
    saf = h2h.results["safety"]
    assert (saf.wins, saf.losses, saf.ties, saf.win_rate) == (1, 0, 1, 1.0)


def test_head_to_head_hand_example_decisive():
    emp = head_to_head(judgements=HAND_JUDGEMENTS, model_a="m", model_b="b", rule="decisive").results[
        "empathy"
    ]
    assert (emp.wins, emp.losses, emp.ties) == (2, 1, 1)
    assert emp.win_rate == pytest.approx(2 / 3)
    assert emp.p_value == pytest.approx(1.0)  # 2 * P(X <= 1 | n=3) = 1, capped at 1


def test_head_to_head_rejects_failures_and_double_votes():
    with pytest.raises(ValueError, match="judge failures"):
        head_to_head(judgements=[Judgement("q1", "p1", "empathy", None)], model_a="a", model_b="b")
    with pytest.raises(ValueError, match="duplicate"):
        head_to_head(judgements=[*HAND_JUDGEMENTS, HAND_JUDGEMENTS[0]], model_a="a", model_b="b")


def test_vote_count_path_matches_record_path():
    rng = np.random.default_rng(7)
    votes = rng.choice(np.array(["A", "B", "tie"]), size=(40, 9), p=[0.5, 0.3, 0.2])
    records = [Judgement(q, p, "empathy", str(votes[q, p])) for q in range(40) for p in range(9)]
    via_records = head_to_head(judgements=records, model_a="a", model_b="b").results["empathy"]
    via_counts = win_rate_from_vote_counts(
        n_a=(votes == "A").sum(axis=1),
        n_b=(votes == "B").sum(axis=1),
        n_tie=(votes == "tie").sum(axis=1),
        model_a="a",
        model_b="b",
        criterion="empathy",
    )
    assert via_records == via_counts


# --------------------------------------------------------------------------------------------------
# Matrix and Pareto front
# --------------------------------------------------------------------------------------------------


def _results(criterion="empathy"):
    return [
        win_rate_from_counts(wins=6, losses=2, ties=2, model_a="M1", model_b="M2", criterion=criterion),
        win_rate_from_counts(wins=3, losses=1, ties=0, model_a="M1", model_b="M3", criterion=criterion),
        win_rate_from_counts(wins=1, losses=3, ties=1, model_a="M3", model_b="M2", criterion=criterion),
    ]


def test_win_rate_matrix_hand_example():
    m = win_rate_matrix(results=_results(), criterion="empathy", models=["M1", "M2", "M3", "M4"])
    expected = np.array(
        [
            [np.nan, 0.75, 0.75, np.nan],
            [0.25, np.nan, 0.75, np.nan],
            [0.25, 0.25, np.nan, np.nan],
            [np.nan, np.nan, np.nan, np.nan],
        ]
    )
    np.testing.assert_allclose(m.win_rate, expected)
    assert m.rate("M2", "M3") == pytest.approx(0.75)
    assert m.wins[2, 1] == 1 and m.losses[2, 1] == 3 and m.ties[1, 2] == 1
    assert m.average_win_rate["M1"] == pytest.approx(0.75)
    assert m.average_win_rate["M2"] == pytest.approx(0.5)
    assert m.average_win_rate["M3"] == pytest.approx(0.25)
    assert math.isnan(m.average_win_rate["M4"])
    assert m.win_share[0, 1] == pytest.approx(0.6)
    assert m.average_win_share["M1"] == pytest.approx((0.6 + 0.75) / 2)


def test_win_rate_matrix_filters_criterion_and_rejects_duplicates():
    mixed = _results("empathy") + _results("safety")
    assert win_rate_matrix(results=mixed, criterion="safety").models == ("M1", "M2", "M3")
    duplicate = [*_results(), _results()[0].swapped()]
    with pytest.raises(ValueError, match="more than one result"):
        win_rate_matrix(results=duplicate, criterion="empathy")


def test_pareto_front_on_the_study_numbers():
    # Empathy / safety win rates reported in the study (DESIGN.md, step 9).
    empathy = {"base": 11.5, "sft": 20.9, "dpo_empathy": 93.6, "soup": 52.5, "joint": 70.8, "modpo": 77.6}
    safety = {"base": 39.6, "sft": 44.8, "dpo_empathy": 47.8, "soup": 58.4, "joint": 62.7, "modpo": 62.6}
    front = pareto_front(x=empathy, y=safety)
    assert front.front == ("joint", "modpo", "dpo_empathy")
    points = {p.model: p for p in front.points}
    assert set(points["soup"].dominated_by) == {"joint", "modpo"}
    assert set(points["base"].dominated_by) == {"sft", "dpo_empathy", "soup", "joint", "modpo"}


def test_pareto_front_ties_and_nan():
    front = pareto_front(
        x={"a": 1.0, "b": 1.0, "c": 0.5, "d": float("nan")}, y={"a": 2.0, "b": 2.0, "c": 2.0, "d": 9}
    )
    assert set(front.front) == {"a", "b"}
    assert {p.model: p.dominated_by for p in front.points}["c"] == ("a", "b")
    assert not {p.model: p.on_front for p in front.points}["d"]


def test_empathy_safety_front_from_matrices():
    emp = win_rate_matrix(results=_results("empathy"), criterion="empathy")
    saf = win_rate_matrix(
        results=[
            win_rate_from_counts(wins=1, losses=9, ties=0, model_a="M1", model_b="M2", criterion="safety"),
            win_rate_from_counts(wins=5, losses=5, ties=0, model_a="M1", model_b="M3", criterion="safety"),
            win_rate_from_counts(wins=5, losses=5, ties=0, model_a="M2", model_b="M3", criterion="safety"),
        ],
        criterion="safety",
    )
    # averages: empathy M1 .75, M2 .5, M3 .25; safety M1 .3, M2 .7, M3 .5 -> M3 dominated by M2
    front = empathy_safety_front(empathy=emp, safety=saf)
    assert front.front == ("M2", "M1")
    assert front.x_label == "average empathy win rate"
