"""The de-identification policy: how each survey variable may be shown or leave the platform. Every
consumer applies it from here: the researcher dashboard's counts, the survey export (responses.csv and
data_dictionary.csv), the persona export, and the data dictionary (docs/data-dictionary.md).

Disclosure classes:
- identifier: reaches a person or the platform's records (database ids, Prolific ids, resume codes,
  times of day); never exported.
- pseudonym: a keyed id new to each export (HMAC under PSEUDONYM_KEY, domain-separated by the export), so
  rows can be joined neither across exports nor back to the platform.
- quasi-identifier: a characteristic that, alone or combined, could single a respondent out (age group,
  gender, ethnicity, diagnoses, severity, current treatment). Small-cell rule, the same everywhere: a
  category held by 1 to SMALL_CELL_MAX respondents is hidden (the dashboard shows "≤ 10", exports
  "suppressed"); for a single choice, so is the cell that with the total would give it away (secondary
  suppression, survey_app.analysis.suppression), the same cells on the dashboard as in an export of the
  same respondents. A multi-select option held by 1 to SMALL_CELL_MAX (an ethnicity, a diagnosis flag)
  loses its whole 0/1 column in responses.csv, since its 0s would point at who has it, and reads
  "suppressed" in a persona's list.
- free text: written by the participant; exported only when asked for, through the CSV-safe writer.
- derived: computed by the platform (versions, submission date, duration, scores).
- answer: an opinion or rating, released as given (no one can be looked up by it).
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from survey_app import instrument as keys
from survey_app.analysis.suppression import Cell, OneWayTable, TwoWayTable, one_way, suppress_counts, two_way
from survey_app.pseudonyms import keyed_pseudonym

SMALL_CELL_MAX = 10
SUPPRESSED = "suppressed"  # what an export shows in place of a hidden category


class Disclosure(StrEnum):
    IDENTIFIER = "identifier"
    PSEUDONYM = "pseudonym"
    QUASI_IDENTIFIER = "quasi-identifier"
    FREE_TEXT = "free text"
    DERIVED = "derived"
    ANSWER = "answer"


DISCLOSURE_RULES = {
    Disclosure.IDENTIFIER: "Never exported.",
    Disclosure.PSEUDONYM: "A keyed pseudonym new to each export: it matches no other export and no record.",
    Disclosure.QUASI_IDENTIFIER: (
        f"Small-cell suppression: a category held by 1 to {SMALL_CELL_MAX} respondents reads `{SUPPRESSED}`"
        f" (the dashboard shows ≤ {SMALL_CELL_MAX}), and so does a single choice's cell that would give it"
        " away with the total; a multi-select option held by so few loses its whole column."
    ),
    Disclosure.FREE_TEXT: "Exported only when free text is asked for, written by the CSV-safe writer.",
    Disclosure.DERIVED: "Computed by the platform; exported as is.",
    Disclosure.ANSWER: "An opinion or rating; exported as answered.",
}

SINGLE_CHOICE_QUASI_IDENTIFIERS = (keys.AGE_GROUP, keys.GENDER, keys.SEVERITY, keys.CURRENT_TREATMENT)
MULTI_CHOICE_QUASI_IDENTIFIERS = (keys.ETHNICITY, keys.DIAGNOSES)
QUASI_IDENTIFIERS = SINGLE_CHOICE_QUASI_IDENTIFIERS + MULTI_CHOICE_QUASI_IDENTIFIERS

# What the platform holds about a participant that no export carries.
DIRECT_IDENTIFIERS = (
    ("participant id", "Database id of the participant record"),
    ("resume code", "The participant's code to resume or withdraw (stored as a keyed hash)"),
    ("Prolific ids", "Prolific participant, study and session ids (stored as keyed pseudonyms)"),
    ("times", "Start, consent and completion times (exports carry the submission date and duration)"),
    ("client address", "Never stored: rate limits count a keyed pseudonym of it"),
    ("safety flags", "Crisis-language matches and the team's follow-up notes"),
    ("persona id", "Database id of a persona (the persona export carries a pseudonym)"),
)


def export_pseudonym(*, export: str, participant_id: int) -> str:
    """The participant's id in one export only: keyed (not reversible without PSEUDONYM_KEY) and
    domain-separated by `export`, so two exports cannot be joined."""
    return keyed_pseudonym(purpose=export, value=str(participant_id))[:16]


def item_disclosure(*, key: str, free_text: bool) -> Disclosure:
    """The class of a questionnaire item's variables (free text is known by the item's kind)."""
    if free_text:
        return Disclosure.FREE_TEXT
    return Disclosure.QUASI_IDENTIFIER if key in QUASI_IDENTIFIERS else Disclosure.ANSWER


def _threshold(key: str) -> int:
    return SMALL_CELL_MAX if key in QUASI_IDENTIFIERS else 0


def single_choice_table(*, key: str, counts: Mapping[str, int]) -> OneWayTable:
    """Counts of one single-choice item with its total, hidden as the policy says. Categories are taken in
    code order, so the same counts hide the same cells whichever labels or zeros a caller adds."""
    return one_way(counts={value: counts[value] for value in sorted(counts)}, threshold=_threshold(key))


def multi_choice_cells(*, key: str, counts: Mapping[str, int]) -> dict[str, Cell]:
    """ "Selected by" counts of a multi-select item (no total to subtract from: primary suppression only)."""
    return suppress_counts(counts=counts, threshold=_threshold(key))


def respondents_cell(*, key: str, count: int) -> Cell:
    """How many answered a multi-select item, hidden like one of its options."""
    return suppress_counts(counts={key: count}, threshold=_threshold(key))[key]


def cross_table(
    *, counts: Mapping[tuple[str, str], int], rows: Sequence[str], columns: Sequence[str]
) -> TwoWayTable:
    """A cross-tabulation of two quasi-identifiers, every row and column protected from subtraction."""
    return two_way(counts=counts, rows=rows, columns=columns, threshold=SMALL_CELL_MAX)


def chosen(value: Any) -> list[str]:
    """The categories one stored answer holds: one for a single choice, any for a multi-select."""
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def hidden_categories(*, answers: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """By quasi-identifier, the categories an export of these respondents' answers must replace: the cells
    the dashboard would hide for the same respondents."""
    answers = list(answers)
    hidden = {}
    for key in QUASI_IDENTIFIERS:
        counts = Counter(value for a in answers for value in set(chosen(a.get(key))))
        if key in MULTI_CHOICE_QUASI_IDENTIFIERS:
            cells = multi_choice_cells(key=key, counts=counts)
        else:
            cells = single_choice_table(key=key, counts=counts).cells
        hidden[key] = {value for value, cell in cells.items() if cell.suppressed}
    return hidden


def suppress_answers(answers: Mapping[str, Any], hidden: Mapping[str, set[str]]) -> dict[str, Any]:
    """`answers` with hidden categories replaced (a multi-select keeps its other choices)."""
    result = dict(answers)
    for key, values in hidden.items():
        held = chosen(result.get(key))
        if not values.intersection(held):
            continue
        if isinstance(result[key], list):
            result[key] = list(dict.fromkeys(SUPPRESSED if v in values else v for v in held))
        else:
            result[key] = SUPPRESSED
    return result
