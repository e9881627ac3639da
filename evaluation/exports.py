"""Tables as CSV and the full results as JSON, built from stored results and the provenance dicts.

The JSON document always carries ``provenance`` (evaluation or study, models, runs, snapshots) next to the
numbers; CSV files are plain tables (one header row) named after the evaluation or study they came from, and
evaluation tables name the policy runs behind each model in a column of their own.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from core.csv import SafeWriter

WIN_RATE_COLUMNS = (
    "wins",
    "losses",
    "ties",
    "n_questions",
    "win_rate",
    "ci_low",
    "ci_high",
    "win_share",
    "win_share_ci_low",
    "win_share_ci_high",
    "mcnemar_statistic",
    "p_value",
)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode()


def results_json(*, results: dict[str, Any], provenance: dict[str, Any]) -> bytes:
    return json.dumps({"provenance": provenance, "results": results}, indent=2, sort_keys=True).encode()


def _policy_runs_by_label(provenance: dict[str, Any]) -> dict[str, str]:
    """{model label: "#5 MODPO empathy (modpo); ..."}: the policy runs behind each model's responses."""
    return {
        model["label"]: "; ".join(
            f"#{run['id']} {run['name']} ({run['method']})" for run in model.get("policy_runs", [])
        )
        for model in provenance.get("models", [])
    }


def evaluation_win_rates_csv(*, results: dict[str, Any], provenance: dict[str, Any]) -> bytes:
    """One row per model pair and criterion (model A's view; swap wins/losses for B's)."""
    runs = _policy_runs_by_label(provenance)
    rows = (
        [
            pair["model_a"],
            pair["model_b"],
            criterion,
            *(values[key] for key in WIN_RATE_COLUMNS),
            runs.get(pair["model_a"], ""),
            runs.get(pair["model_b"], ""),
        ]
        for pair in results.get("pairs", [])
        for criterion, values in pair["criteria"].items()
    )
    header = [
        "model_a",
        "model_b",
        "criterion",
        *WIN_RATE_COLUMNS,
        "model_a_policy_runs",
        "model_b_policy_runs",
    ]
    return _csv(header, rows)


def evaluation_averages_csv(*, results: dict[str, Any], provenance: dict[str, Any]) -> bytes:
    """Each model's average win rate and win share per criterion, and whether it is on the Pareto front."""
    front = set((results.get("pareto") or {}).get("front", []))
    runs = _policy_runs_by_label(provenance)
    rows = (
        [
            model,
            criterion,
            matrix["average_win_rate"].get(model),
            matrix["average_win_share"].get(model),
            model in front if results.get("pareto") else None,
            runs.get(model, ""),
        ]
        for criterion, matrix in results.get("matrices", {}).items()
        for model in results.get("models", [])
    )
    header = ["model", "criterion", "average_win_rate", "average_win_share", "on_pareto_front", "policy_runs"]
    return _csv(header, rows)


def evaluation_matrix_csv(*, results: dict[str, Any], provenance: dict[str, Any]) -> bytes:
    """The win-rate matrix of every criterion in long form: row model, column model, win rate."""
    models = results.get("models", [])
    runs = _policy_runs_by_label(provenance)
    rows = (
        [
            criterion,
            row_model,
            column_model,
            matrix["win_rate"][i][j],
            runs.get(row_model, ""),
            runs.get(column_model, ""),
        ]
        for criterion, matrix in results.get("matrices", {}).items()
        for i, row_model in enumerate(models)
        for j, column_model in enumerate(models)
        if i != j
    )
    return _csv(
        ["criterion", "model", "opponent", "win_rate", "model_policy_runs", "opponent_policy_runs"], rows
    )


def study_agreement_csv(*, results: dict[str, Any]) -> bytes:
    """Per criterion: clinician agreement statistics and, when a judge is linked, judge agreement."""
    judge = (results.get("judge_agreement") or {}).get("criteria", {})
    rows = []
    for criterion in results.get("criteria", []):
        agreement = results["agreement"].get(criterion)
        if agreement is None:
            continue
        percent = agreement["percent_agreement"]
        versus = judge.get(criterion)
        rows.append(
            [
                criterion,
                agreement["n_raters"],
                agreement["n_items"],
                agreement["n_ratings"],
                percent["estimate"],
                percent["ci_low"],
                percent["ci_high"],
                agreement["mean_cohen_kappa"],
                agreement["fleiss"]["kappa"],
                agreement["fleiss"]["n_items"],
                agreement["krippendorff_alpha"],
                versus["judge_clinician"]["estimate"] if versus else None,
                versus["clinician_clinician"]["estimate"] if versus else None,
                versus["difference"] if versus else None,
                versus["difference_ci_low"] if versus else None,
                versus["difference_ci_high"] if versus else None,
            ]
        )
    header = [
        "criterion",
        "n_raters",
        "n_items",
        "n_ratings",
        "percent_agreement",
        "percent_agreement_ci_low",
        "percent_agreement_ci_high",
        "mean_cohen_kappa",
        "fleiss_kappa",
        "fleiss_n_items",
        "krippendorff_alpha",
        "judge_clinician_agreement",
        "clinician_clinician_agreement",
        "difference",
        "difference_ci_low",
        "difference_ci_high",
    ]
    return _csv(header, rows)


def study_cohen_csv(*, results: dict[str, Any]) -> bytes:
    """Cohen's kappa for every clinician pair and criterion."""
    keys = ("rater_1", "rater_2", "n_items", "percent_agreement", "kappa")
    rows = (
        [criterion, *(pair[key] for key in keys)]
        for criterion, agreement in results.get("agreement", {}).items()
        for pair in agreement["cohen"]
    )
    return _csv(["criterion", "clinician_1", "clinician_2", "n_items", "percent_agreement", "kappa"], rows)


def study_win_rates_csv(*, results: dict[str, Any]) -> bytes:
    """Per criterion, model A against model B over all ratings and over items (clinician majority)."""
    rows = []
    for criterion, entry in results.get("win_rates", {}).items():
        for level in ("ratings", "items"):
            values = entry.get(level)
            if values:
                rows.append([criterion, level, *(values[key] for key in WIN_RATE_COLUMNS)])
    return _csv(["criterion", "level", *WIN_RATE_COLUMNS], rows)


def study_position_balance_csv(*, results: dict[str, Any]) -> bytes:
    """Per clinician: decisive choices of the response displayed as A, with the binomial test."""
    keys = ("n_a", "n_b", "n_ties", "proportion_a", "ci_low", "ci_high", "p_value")
    rows = (
        [clinician, *(balance[key] for key in keys)]
        for clinician, balance in results.get("position_balance", {}).items()
    )
    return _csv(["clinician", *keys], rows)
