"""Persona quality, selection and split, objective weights and small-cell suppression, each checked
against an example worked out by hand."""

import numpy as np
import pytest

from survey_app.analysis import personas as pa
from survey_app.analysis.suppression import one_way, suppress_cells, two_way
from survey_app.analysis.weights import derive_weights, mean_importance

CRITERIA = [
    ("empathy", "Empathy"),
    ("active_listening", "Active listening"),
    ("self_motivated_change", "Self-motivated change"),
    ("trust_rapport", "Trust & rapport"),
    ("patient_autonomy", "Patient autonomy"),
    ("safety", "Safety"),
]
RANKABLE = [key for key, _ in CRITERIA if key != "safety"]


def response(**overrides) -> pa.ResponseData:
    answers = {
        "age_group": "25_34",
        "gender": "prefer_not_to_say",
        "ethnicity": ["white"],
        "diagnoses": ["prefer_not_to_say"],
        "severity": "moderate",
        "current_treatment": "therapy",
        "chatbot_experience": "sometimes",
        "ai_accessible_support": "4",
        "ai_human_empathy": "2",
        "ai_factual_errors": "5",
        "ai_complement_only": "4",
        "ai_trust": "3",
        "importance": {
            "empathy": 5,
            "active_listening": 4,
            "self_motivated_change": 3,
            "trust_rapport": 4,
            "patient_autonomy": 2,
            "safety": 5,
        },
        "ranking": {
            "empathy": 1,
            "trust_rapport": 2,
            "self_motivated_change": 3,
            "active_listening": 4,
            "patient_autonomy": 5,
        },
    }
    answers.update(overrides)
    return pa.ResponseData(
        answers=answers,
        labels={
            "age_group": {"25_34": "25 to 34"},
            "ethnicity": {"white": "White"},
            "severity": {"moderate": "Moderate"},
        },
        prompts={"ai_accessible_support": "AI chatbots could make mental-health support easier to get."},
        criteria=CRITERIA,
        rankable=RANKABLE,
        attention_failures=1,
    )


def test_quality_score_matches_the_hand_computation():
    """14 persona fields, 2 answered 'prefer not to say' -> completeness 12/14. Of the 9 ranked pairs whose
    ratings differ, only (active listening 4 vs self-motivated change 3, ranked 4th vs 3rd) disagrees ->
    consistency 8/9. One failed attention check -> 0. Quality = 0.4 * 0.8571 + 0.4 * 0.8889 + 0.2 * 0."""
    scores = pa.quality(response())
    assert scores.completeness == pytest.approx(0.8571)
    assert scores.consistency == pytest.approx(0.8889)
    assert scores.attention == 0.0
    assert scores.score == pytest.approx(0.6984)


def test_consistency_is_one_when_no_ratings_differ():
    flat = {key: 3 for key, _ in CRITERIA}
    assert pa.consistency(response(importance=flat)) == 1.0


def test_persona_text_has_demographics_background_preferences_and_attitudes():
    text = pa.persona_text(response())
    assert "age group 25 to 34; gender prefers not to say; ethnicity White" in text
    assert "experience of prefers not to say; severity at worst Moderate" in text
    assert (
        "Empathy 5; Active listening 4; Self-motivated change 3; Trust & rapport 4; Patient autonomy 2; "
        "Safety 5" in text
    )
    assert (
        "1. Empathy, 2. Trust & rapport, 3. Self-motivated change, 4. Active listening, 5. Patient autonomy"
        in text
    )
    assert '"AI chatbots could make mental-health support easier to get." 4/5 (agree)' in text
    assert pa.primary_preference(response()) == "empathy"


def test_farthest_point_selection_by_hand():
    """Positions 0.5, 0.0, 1.0, 0.6 (0.9 is below the quality bar). Start from the best (id 1 at 0.5);
    ids 2 and 3 are both 0.5 away and equally good, so the lower id wins; then id 3 (0.5 away vs 0.1)."""
    candidates = [
        pa.Candidate(id=1, quality=0.9, stratum="a", features={}),
        pa.Candidate(id=2, quality=0.8, stratum="a", features={}),
        pa.Candidate(id=3, quality=0.8, stratum="b", features={}),
        pa.Candidate(id=4, quality=0.7, stratum="b", features={}),
        pa.Candidate(id=5, quality=0.3, stratum="b", features={}),
    ]
    matrix = np.array([[0.5], [0.0], [1.0], [0.6], [0.9]])
    assert pa.select_diverse(candidates, matrix, n=3, min_quality=0.5) == [1, 2, 3]
    with pytest.raises(ValueError, match="Only 4 personas"):
        pa.select_diverse(candidates, matrix, n=5, min_quality=0.5)


def test_split_allocation_by_largest_remainder():
    """150 personas, 50 to test. Exact shares 31.33, 10.33, 3, 2.67, 2.67 floor to 48; the two largest
    remainders (0.67 each) take the last two places."""
    sizes = {
        "empathy": 94,
        "active_listening": 31,
        "patient_autonomy": 9,
        "trust_rapport": 8,
        "self_motivated_change": 8,
    }
    allocation = pa.split_allocation(stratum_sizes=sizes, n_test=50)
    assert allocation == {
        "empathy": 31,
        "active_listening": 10,
        "patient_autonomy": 3,
        "trust_rapport": 3,
        "self_motivated_change": 3,
    }


def test_stratified_split_is_exact_stratified_and_seeded():
    strata = ["empathy"] * 94 + ["active_listening"] * 31 + ["patient_autonomy"] * 9 + ["trust_rapport"] * 8
    strata += ["self_motivated_change"] * 8
    candidates = [pa.Candidate(id=i, quality=1.0, stratum=s, features={}) for i, s in enumerate(strata)]
    split = pa.stratified_split(candidates, n_test=50, seed=5)
    assert sum(1 for s in split.values() if s == "test") == 50
    assert sum(1 for s in split.values() if s == "train") == 100
    empathy_test = sum(1 for c in candidates if c.stratum == "empathy" and split[c.id] == "test")
    assert empathy_test == 31
    assert pa.stratified_split(candidates, n_test=50, seed=5) == split
    assert pa.stratified_split(candidates, n_test=50, seed=6) != split


def test_weights_by_hand_with_the_safety_floor_applied():
    """Means 5, 3, 2 -> 0.5, 0.3, 0.2. Safety is raised to the 0.3 floor and the others scaled by
    0.7 / 0.8 = 0.875: empathy 0.4375, active listening 0.2625."""
    means = mean_importance(
        ratings=[
            {"empathy": 5, "active_listening": 4, "safety": 1},
            {"empathy": 5, "active_listening": 2, "safety": 3},
        ],
        criteria=["empathy", "active_listening", "safety"],
    )
    assert means == {"empathy": 5, "active_listening": 3, "safety": 2}
    derived = derive_weights(means=means, safety_key="safety", safety_floor=0.3)
    assert derived.normalised == {"empathy": 0.5, "active_listening": 0.3, "safety": 0.2}
    assert derived.weights == pytest.approx({"empathy": 0.4375, "active_listening": 0.2625, "safety": 0.3})
    assert derived.floor_applied
    assert sum(derived.weights.values()) == pytest.approx(1.0, abs=1e-9)


def test_weights_leave_safety_alone_above_the_floor():
    derived = derive_weights(
        means={"empathy": 5, "active_listening": 3, "safety": 2}, safety_key="safety", safety_floor=0.1
    )
    assert derived.weights == pytest.approx({"empathy": 0.5, "active_listening": 0.3, "safety": 0.2})
    assert not derived.floor_applied


@pytest.mark.parametrize("floor", [-0.1, 1.0, 1.5])
def test_weights_refuse_an_impossible_floor(floor):
    with pytest.raises(ValueError, match="floor"):
        derive_weights(means={"empathy": 5, "safety": 2}, safety_key="safety", safety_floor=floor)


def test_one_way_secondary_suppression_hides_the_next_smallest_cell():
    """4 is small; with the total shown it would be 59 - 25 - 30 - 0, so the next smallest non-zero cell
    (25) is hidden too. Zero stays visible: an empty cell identifies nobody."""
    table = one_way(counts={"a": 25, "b": 4, "c": 30, "d": 0}, threshold=10)
    assert {value for value, cell in table.cells.items() if cell.suppressed} == {"a", "b"}
    assert table.total.shown == 59
    assert table.cells["d"].shown == 0


def test_one_way_with_a_small_total_hides_it():
    table = one_way(counts={"a": 5, "b": 0}, threshold=10)
    assert table.cells["a"].suppressed and table.total.suppressed


def test_two_way_suppression_leaves_no_line_with_a_single_hidden_cell():
    """Primary: (r1, c2) = 3. Row r1 then hides 15; columns c2 and c3 then hide 14 and 16: a rectangle,
    so no row or column total gives any hidden cell away."""
    counts = {
        ("r1", "c1"): 20,
        ("r1", "c2"): 3,
        ("r1", "c3"): 15,
        ("r2", "c1"): 12,
        ("r2", "c2"): 14,
        ("r2", "c3"): 16,
    }
    table = two_way(counts=counts, rows=["r1", "r2"], columns=["c1", "c2", "c3"], threshold=10)
    hidden = {key for key, cell in table.cells.items() if cell.suppressed}
    assert hidden == {("r1", "c2"), ("r1", "c3"), ("r2", "c2"), ("r2", "c3")}
    assert (
        table.row_totals["r1"].shown == 38
        and table.column_totals["c2"].shown == 17
        and table.total.shown == 80
    )


def test_suppression_falls_back_to_the_total_when_no_other_cell_can_hide():
    cells = {"a": 4, "b": 0, "total": 4}
    assert suppress_cells(cells=cells, lines=[(["a", "b"], "total")], threshold=10) == {"a", "total"}
    cells = {"a": 0, "b": 0, "c": 4, "sum": 40}  # inconsistent on purpose: only the rule is under test
    assert suppress_cells(cells=cells, lines=[(["a", "b", "c"], "sum")], threshold=10) == {"c", "sum"}
