"""The import report keeps the file's rows (read, merged, rejected) apart from what was imported (questions
with their train/test split, responses, personas), so that the numbers are never read as one sum."""

import re

from django.template.loader import render_to_string


def figures(html: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))


def test_a_bank_import_reports_rows_and_questions_separately():
    report = {
        "rows_read": 2129,
        "rows_merged": 1185,
        "rows_rejected": 120,
        "rows_accepted": 824,
        "responses_imported": 1950,
        "split": {"seed": 7, "train": 659, "test": 165, "stratify_by": None},
        "rejected": [],
        "merged": [],
        "warnings": [],
    }
    html = render_to_string("annotation/_report.html", {"report": report})
    assert figures(html) == {
        "Rows read": "2129",
        "Rows merged (repeats)": "1185",
        "Rows rejected": "120",
        "Questions": "824",
        "Train / test questions": "659 / 165",
        "Responses": "1950",
    }
    assert html.index("Rows read") < html.index("<h3>Imported</h3>") < html.index("Questions")


def test_a_persona_import_reports_personas():
    report = {
        "rows_read": 3,
        "rows_merged": 0,
        "rows_rejected": 1,
        "rows_accepted": 2,
        "created": 2,
        "unchanged": 0,
    }
    html = render_to_string("annotation/_report.html", {"report": report})
    assert figures(html)["Personas"] == "2" and "Questions" not in figures(html)
    assert "2 new, 0 already present" in html
