"""The data dictionary: every variable an export can carry, with its meaning, type, allowed values and
disclosure class (survey_app.analysis.disclosure). The export's data_dictionary.csv and
docs/data-dictionary.md (`manage.py data_dictionary`) are both written from here, so neither can drift
from what an export holds or from the policy applied to it."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from survey_app import instrument as keys
from survey_app.analysis.disclosure import (
    DIRECT_IDENTIFIERS,
    DISCLOSURE_RULES,
    SMALL_CELL_MAX,
    Disclosure,
    item_disclosure,
)
from survey_app.models import Item, ItemKind

META_VARIABLES = [
    ("respondent", "Respondent pseudonym, valid in this export only", "string", Disclosure.PSEUDONYM),
    ("instrument_version", "Questionnaire version answered", "integer", Disclosure.DERIVED),
    ("consent_version", "Consent text version agreed to", "integer", Disclosure.DERIVED),
    ("source", "How the participant arrived (prolific or direct)", "categorical", Disclosure.DERIVED),
    ("submitted_on", "Date of submission (UTC)", "date", Disclosure.DERIVED),
    ("duration_min", "Minutes from consent to submission", "number", Disclosure.DERIVED),
    ("attention_failures", "Attention checks not answered as instructed", "integer", Disclosure.DERIVED),
]
PERSONA_EXPORT_FIELDS = [
    ("persona_id", "Persona pseudonym, valid in this export only", "string", Disclosure.PSEUDONYM),
    ("split", "train or test", "categorical", Disclosure.DERIVED),
    ("quality_score", "0.4 completeness + 0.4 consistency + 0.2 attention", "number 0-1", Disclosure.DERIVED),
    ("primary_preference", "The criterion ranked first", "categorical", Disclosure.DERIVED),
    (
        "text",
        "The persona written again from the answers, quasi-identifiers suppressed as in responses.csv",
        "text",
        Disclosure.DERIVED,
    ),
]
COLUMNS = ["variable", "label", "type", "choices", "disclosure", "instrument_version"]


@dataclass(frozen=True)
class Variable:
    """One responses.csv column: an item, or one option or criterion of it (`part`)."""

    name: str
    item_key: str
    kind: str
    part: str = ""

    def value(self, answers: Mapping[str, Any]) -> Any:
        value = answers.get(self.item_key)
        if value is None:
            return ""
        if self.kind == ItemKind.MULTI:
            return int(self.part in value)
        if self.kind in (ItemKind.IMPORTANCE, ItemKind.RANKING):
            return value.get(self.part, "")
        return value


def variables(
    *, items: Sequence[Item], criteria: Sequence[str], rankable: Sequence[str], include_free_text: bool
) -> list[Variable]:
    """Columns in questionnaire order (`items` newest version first); multi-choice options are the union
    over the versions."""
    options: dict[str, list[str]] = {}
    ordered: list[Item] = []
    for item in items:
        if item.page == keys.ELIGIBILITY_PAGE:
            continue
        if item.key not in options:
            options[item.key] = []
            ordered.append(item)
        options[item.key] += [str(v) for v, _ in item.choices if str(v) not in options[item.key]]
    result = []
    for item in ordered:
        if item.kind == ItemKind.MULTI:
            result += [
                Variable(f"{item.key}__{value}", item.key, item.kind, value) for value in options[item.key]
            ]
        elif item.kind == ItemKind.IMPORTANCE:
            result += [Variable(f"importance__{c}", item.key, item.kind, c) for c in criteria]
        elif item.kind == ItemKind.RANKING:
            result += [Variable(f"rank__{c}", item.key, item.kind, c) for c in rankable]
        elif item.kind != ItemKind.TEXT or include_free_text:
            result.append(Variable(item.key, item.key, item.kind))
    return result


def _describe(
    variable: Variable, item: Item, criteria_names: Mapping[str, str]
) -> tuple[str, str, str] | None:
    """(label, type, allowed values) of `variable` as `item` (one version) words it; None when that version
    does not offer the option."""
    labels = item.choice_labels
    if variable.kind == ItemKind.MULTI:
        if variable.part not in labels:
            return None
        return f"{item.prompt} [{labels[variable.part]}]", "binary", "1=selected; 0=not selected"
    if variable.kind == ItemKind.IMPORTANCE:
        choices = "; ".join(f"{v}={label}" for v, label in item.choices)
        return f"{item.prompt} [{criteria_names[variable.part]}]", "integer 1-5", choices
    if variable.kind == ItemKind.RANKING:
        return f"{item.prompt} [{criteria_names[variable.part]}]", "rank", "1=most important"
    if variable.kind == ItemKind.TEXT:
        return item.prompt, "free text", ""
    kind = "integer 1-5" if variable.kind in (ItemKind.LIKERT, ItemKind.ATTENTION) else "categorical"
    choices = "; ".join(f"{v}={label}" for v, label in item.choices)
    if item.expected_value:
        choices += f" (instructed answer: {item.expected_value})"
    return item.prompt, kind, choices


def dictionary_rows(
    *, variables: Sequence[Variable], items: Sequence[Item], criteria_names: Mapping[str, str]
) -> list[list[str]]:
    """data_dictionary.csv (header first): one row per variable and questionnaire version holding it."""
    rows = [COLUMNS] + [[name, label, kind, "", str(cls), "all"] for name, label, kind, cls in META_VARIABLES]
    by_key: dict[str, list[Item]] = {}
    for item in items:
        by_key.setdefault(item.key, []).append(item)
    for variable in variables:
        for item in by_key[variable.item_key]:
            described = _describe(variable, item, criteria_names)
            if described is not None:
                disclosure = item_disclosure(key=item.key, free_text=item.kind == ItemKind.TEXT)
                rows.append([variable.name, *described, str(disclosure), str(item.instrument.version)])
    return rows


CRITERION = "<criterion>"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(str(value)) for value in row) + " |" for row in rows]


def data_dictionary_markdown(*, items: Sequence[Item], version: int) -> str:
    """docs/data-dictionary.md for one questionnaire version (`items`, in order)."""
    columns = variables(items=items, criteria=[CRITERION], rankable=[CRITERION], include_free_text=True)
    rows = dictionary_rows(
        variables=columns, items=items, criteria_names={CRITERION: "each criterion of the study"}
    )[1:]
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `python manage.py data_dictionary` from the questionnaire and the",
        "de-identification policy (survey_app/analysis/disclosure.py); do not edit by hand. -->",
        "",
        f"Questionnaire version {version}. Every survey export applies the policy below; the export's",
        "`data_dictionary.csv` lists the same variables with the wording of each version it holds.",
        f"`{CRITERION}` stands for each criterion key of the study's criteria set (safety is rated, not",
        "ranked).",
        "",
        "## Disclosure classes",
        "",
        *_table(["Class", "Rule"], [(str(cls), rule) for cls, rule in DISCLOSURE_RULES.items()]),
        "",
        f"The threshold is `SMALL_CELL_MAX` = {SMALL_CELL_MAX}, the same for the dashboard and every export.",
        "",
        "## Never exported (identifiers)",
        "",
        *_table(["Held by the platform", "Meaning"], DIRECT_IDENTIFIERS),
        "",
        "## responses.csv",
        "",
        *_table(
            ["Variable", "Meaning", "Type", "Allowed values", "Disclosure"],
            [(f"`{row[0]}`", *row[1:5]) for row in rows],
        ),
        "",
        "## personas.jsonl (persona export)",
        "",
        *_table(
            ["Field", "Meaning", "Type", "Disclosure"], [(f"`{f[0]}`", *f[1:]) for f in PERSONA_EXPORT_FIELDS]
        ),
        "",
    ]
    return "\n".join(lines)
