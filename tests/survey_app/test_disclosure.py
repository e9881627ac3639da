"""The de-identification policy (survey_app.analysis.disclosure): which variables are protected, and that
the cells an export replaces are exactly those the dashboard hides for the same respondents."""

from survey_app.analysis.disclosure import (
    SMALL_CELL_MAX,
    SUPPRESSED,
    Disclosure,
    hidden_categories,
    item_disclosure,
    multi_choice_cells,
    single_choice_table,
    suppress_answers,
)


def answers(*pairs: tuple[int, dict]) -> list[dict]:
    return [answer for count, answer in pairs for _ in range(count)]


def test_quasi_identifiers_include_diagnoses_and_opinions_do_not():
    for key in ("age_group", "gender", "ethnicity", "diagnoses", "severity", "current_treatment"):
        assert item_disclosure(key=key, free_text=False) == Disclosure.QUASI_IDENTIFIER
    for key in ("chatbot_experience", "ai_trust", "importance", "ranking", "ai_help_areas"):
        assert item_disclosure(key=key, free_text=False) == Disclosure.ANSWER
    assert item_disclosure(key="comments", free_text=True) == Disclosure.FREE_TEXT


def test_a_diagnosis_held_by_one_to_ten_respondents_is_hidden_and_by_eleven_shown():
    group = answers(
        (11, {"diagnoses": ["depression", "anxiety"]}),
        (10, {"diagnoses": ["depression", "ocd"]}),
        (1, {"diagnoses": ["depression", "psychosis"]}),
    )
    assert hidden_categories(answers=group)["diagnoses"] == {"ocd", "psychosis"}
    cells = multi_choice_cells(key="diagnoses", counts={"anxiety": 11, "ocd": 10, "psychosis": 1, "adhd": 0})
    assert [cells[v].suppressed for v in ("anxiety", "ocd", "psychosis", "adhd")] == [
        False,
        True,
        True,
        False,
    ]
    assert cells["ocd"].small and not cells["adhd"].small


def test_an_export_hides_the_cells_the_dashboard_hides_whatever_order_the_labels_come_in():
    """Two categories of 11 tie for secondary suppression; the policy breaks the tie by code, so the
    dashboard (every label, zeros included, in questionnaire order) and an export (only the values
    present) hide the same one."""
    group = answers((11, {"gender": "woman"}), (11, {"gender": "man"}), (3, {"gender": "non_binary"}))
    dashboard = single_choice_table(
        key="gender", counts={"woman": 11, "man": 11, "non_binary": 3, "another": 0, "prefer_not_to_say": 0}
    )
    shown_on_dashboard = {value for value, cell in dashboard.cells.items() if cell.suppressed}
    assert shown_on_dashboard == {"man", "non_binary"}
    assert hidden_categories(answers=group)["gender"] == shown_on_dashboard
    assert dashboard.cells["non_binary"].small and not dashboard.cells["man"].small
    assert dashboard.total.shown == 25


def test_answers_are_shown_however_few_give_them():
    table = single_choice_table(key="chatbot_experience", counts={"never": 1, "regularly": 20})
    assert not any(cell.suppressed for cell in table.cells.values())
    assert "chatbot_experience" not in hidden_categories(answers=[{"chatbot_experience": "never"}])


def test_the_threshold_is_the_last_small_count():
    small = answers((SMALL_CELL_MAX, {"severity": "mild"}), (SMALL_CELL_MAX + 1, {"severity": "severe"}))
    big = answers((SMALL_CELL_MAX + 1, {"severity": "mild"}), (SMALL_CELL_MAX + 1, {"severity": "severe"}))
    assert hidden_categories(answers=small)["severity"] == {"mild", "severe"}  # severe: secondary
    assert hidden_categories(answers=big)["severity"] == set()


def test_suppressed_answers_keep_a_multi_selects_other_choices():
    hidden = {"age_group": {"35_44"}, "diagnoses": {"ptsd"}, "gender": set()}
    answer = {"age_group": "35_44", "diagnoses": ["depression", "ptsd"], "gender": "woman", "ai_trust": 4}
    assert suppress_answers(answer, hidden) == {
        "age_group": SUPPRESSED,
        "diagnoses": ["depression", SUPPRESSED],
        "gender": "woman",
        "ai_trust": 4,
    }
