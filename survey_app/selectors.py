"""Reads for the survey: the questionnaire's pages, participants' answers, dashboard figures, and the
personas and objective weights other apps consume (preference collection, training launch)."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from statistics import median
from typing import Any

from django.db.models import Count, Q, QuerySet

from criteria.models import Criterion
from survey_app import instrument as keys
from survey_app.analysis.disclosure import (
    cross_table,
    multi_choice_cells,
    respondents_cell,
    single_choice_table,
)
from survey_app.analysis.personas import ResponseData
from survey_app.analysis.suppression import Cell, OneWayTable, TwoWayTable
from survey_app.models import (
    Answer,
    Instrument,
    Item,
    ItemKind,
    ObjectiveWeightSet,
    Participant,
    ParticipantStatus,
    Persona,
    SafetyFlag,
    Study,
    StudyStatus,
    Submission,
)

# ---- the questionnaire -----------------------------------------------------------------------------------


def instrument_current() -> Instrument:
    return Instrument.objects.get(is_current=True)


def survey_pages(*, instrument: Instrument) -> list[dict[str, str]]:
    """The numbered survey pages (eligibility comes before them and is not one)."""
    return [page for page in instrument.pages if page["key"] != keys.ELIGIBILITY_PAGE]


def eligibility_page(*, instrument: Instrument) -> dict[str, str]:
    return next(page for page in instrument.pages if page["key"] == keys.ELIGIBILITY_PAGE)


def page_items(*, instrument: Instrument, page_key: str) -> list[Item]:
    return list(instrument.items.filter(page=page_key).order_by("position", "id"))


def study_public_get(*, slug: str) -> Study:
    """A study participants may reach (open or closed; drafts stay private). Raises Study.DoesNotExist."""
    return (
        Study.objects.select_related("consent", "criteria_set")
        .exclude(status=StudyStatus.DRAFT)
        .get(slug=slug)
    )


def study_criteria(*, study: Study) -> list[Criterion]:
    return list(study.criteria_set.criteria.order_by("position", "id"))


def rankable_criteria(*, criteria: list[Criterion]) -> list[Criterion]:
    return [criterion for criterion in criteria if criterion.key not in keys.NON_NEGOTIABLE_CRITERIA]


# ---- one participant -------------------------------------------------------------------------------------


def participant_answers(*, participant: Participant) -> dict[str, Any]:
    return dict(participant.answers.values_list("item__key", "value"))


@dataclass(frozen=True)
class ReviewRow:
    """One question and the participant's answer as shown to them: one line, or a list (ordered for a
    ranking)."""

    question: str
    answers: list[str]
    ordered: bool = False


@dataclass(frozen=True)
class ReviewPage:
    number: int
    title: str
    rows: list[ReviewRow]


def answers_review(*, participant: Participant) -> list[ReviewPage]:
    """Every survey page with every question and the participant's answer, in the words they saw."""
    answers = participant_answers(participant=participant)
    names = {criterion.key: criterion.name for criterion in study_criteria(study=participant.study)}
    return [
        ReviewPage(
            number=number,
            title=page["title"],
            rows=[
                _review_row(item=item, value=answers.get(item.key), names=names)
                for item in page_items(instrument=participant.instrument, page_key=page["key"])
            ],
        )
        for number, page in enumerate(survey_pages(instrument=participant.instrument), start=1)
    ]


def _review_row(*, item: Item, value: Any, names: dict[str, str]) -> ReviewRow:
    labels = item.choice_labels
    if value in (None, "", [], {}):
        return ReviewRow(question=item.prompt, answers=["Not answered"])
    if item.kind == ItemKind.IMPORTANCE:
        rated = [f"{names[key]}: {labels.get(str(value[key]), value[key])}" for key in names if key in value]
        return ReviewRow(question=item.prompt, answers=rated)
    if item.kind == ItemKind.RANKING:
        return ReviewRow(
            question=item.prompt,
            answers=[names.get(key, key) for key in sorted(value, key=value.get)],
            ordered=True,
        )
    if item.kind == ItemKind.MULTI:
        return ReviewRow(question=item.prompt, answers=[labels.get(str(choice), choice) for choice in value])
    return ReviewRow(question=item.prompt, answers=[labels.get(str(value), str(value))])


def answer_complete(*, item: Item, value: Any, criteria: list[str], rankable: list[str]) -> bool:
    """Whether a stored value fully answers `item` (grids need every criterion; rankings a permutation)."""
    if value in (None, "", [], {}):
        return False
    if item.kind == ItemKind.IMPORTANCE:
        return isinstance(value, dict) and all(key in value for key in criteria)
    if item.kind == ItemKind.RANKING:
        return isinstance(value, dict) and sorted(value.get(key, 0) for key in rankable) == list(
            range(1, len(rankable) + 1)
        )
    return True


def first_incomplete_page(*, participant: Participant) -> int | None:
    """The number (1-based) of the first survey page with a required answer missing, or None."""
    criteria = study_criteria(study=participant.study)
    criterion_keys = [c.key for c in criteria]
    rankable = [c.key for c in rankable_criteria(criteria=criteria)]
    answers = participant_answers(participant=participant)
    required = defaultdict(list)
    for item in participant.instrument.items.filter(required=True):
        required[item.page].append(item)
    for number, page in enumerate(survey_pages(instrument=participant.instrument), start=1):
        for item in required[page["key"]]:
            if not answer_complete(
                item=item, value=answers.get(item.key), criteria=criterion_keys, rankable=rankable
            ):
                return number
    return None


# ---- complete responses ----------------------------------------------------------------------------------


def completed_responses(*, study: Study) -> list[tuple[Participant, ResponseData]]:
    """Every complete, non-withdrawn response of `study` with the wording of the version it answered."""
    criteria = study_criteria(study=study)
    pairs = [(c.key, c.name) for c in criteria]
    rankable = [c.key for c in rankable_criteria(criteria=criteria)]
    participants = {
        p.pk: p
        for p in Participant.objects.filter(study=study, status=ParticipantStatus.COMPLETED)
        .select_related("instrument", "consent", "submission")
        .order_by("pk")
    }
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    items: dict[int, dict[str, Item]] = defaultdict(dict)
    for answer in Answer.objects.filter(participant__in=list(participants)).select_related("item"):
        answers[answer.participant_id][answer.item.key] = answer.value
        items[answer.participant_id][answer.item.key] = answer.item
    version_items = _items_by_version(instrument_ids={p.instrument_id for p in participants.values()})
    responses = []
    for pk, participant in participants.items():
        version = version_items[participant.instrument_id]
        responses.append(
            (
                participant,
                ResponseData(
                    answers=answers[pk],
                    labels={key: item.choice_labels for key, item in version.items()},
                    prompts={key: item.prompt for key, item in version.items()},
                    criteria=pairs,
                    rankable=rankable,
                    attention_failures=participant.attention_failures,
                    instrument_version=participant.instrument.version,
                ),
            )
        )
    return responses


def _items_by_version(*, instrument_ids: set[int]) -> dict[int, dict[str, Item]]:
    result: dict[int, dict[str, Item]] = defaultdict(dict)
    for item in Item.objects.filter(instrument_id__in=instrument_ids):
        result[item.instrument_id][item.key] = item
    return result


# ---- dashboard -------------------------------------------------------------------------------------------


def studies_overview() -> QuerySet[Study]:
    return Study.objects.select_related("criteria_set", "consent").annotate(
        completes=Count("participants", filter=Q(participants__status=ParticipantStatus.COMPLETED)),
        partials=Count(
            "participants",
            filter=Q(participants__status__in=[ParticipantStatus.CONSENTED, ParticipantStatus.IN_PROGRESS]),
        ),
    )


def study_completes(*, study: Study) -> int:
    return Participant.objects.filter(study=study, status=ParticipantStatus.COMPLETED).count()


@dataclass(frozen=True)
class StudyProgress:
    completes: int
    partials: int
    screened_out: int
    withdrawn: int
    declined: int
    attention_failures: int
    median_duration_s: float | None
    quota: int

    @property
    def quota_reached(self) -> bool:
        return self.completes >= self.quota

    @property
    def median_duration_min(self) -> float | None:
        return None if self.median_duration_s is None else round(self.median_duration_s / 60, 1)


def study_progress(*, study: Study) -> StudyProgress:
    status = ParticipantStatus
    counts = Participant.objects.filter(study=study).aggregate(
        completes=Count("pk", filter=Q(status=status.COMPLETED)),
        partials=Count("pk", filter=Q(status__in=[status.CONSENTED, status.IN_PROGRESS])),
        screened_out=Count("pk", filter=Q(status=status.SCREENED_OUT)),
        withdrawn=Count("pk", filter=Q(status=status.WITHDRAWN)),
        declined=Count("pk", filter=Q(status=status.DECLINED)),
        attention_failures=Count("pk", filter=Q(status=status.COMPLETED, attention_failures__gt=0)),
    )
    durations = list(
        Submission.objects.filter(participant__study=study, participant__status=status.COMPLETED).values_list(
            "duration_s", flat=True
        )
    )
    return StudyProgress(
        **counts, median_duration_s=median(durations) if durations else None, quota=study.quota
    )


@dataclass(frozen=True)
class ImportanceRow:
    key: str
    name: str
    mean: float | None
    n: int
    distribution: list[int]  # counts of ratings 1..5


def importance_summary(*, study: Study) -> list[ImportanceRow]:
    ratings = _latest_values(study=study, item_key=keys.IMPORTANCE)
    rows = []
    for criterion in study_criteria(study=study):
        values = [r[criterion.key] for r in ratings if isinstance(r, dict) and criterion.key in r]
        counts = Counter(values)
        rows.append(
            ImportanceRow(
                key=criterion.key,
                name=criterion.name,
                mean=round(sum(values) / len(values), 2) if values else None,
                n=len(values),
                distribution=[counts.get(score, 0) for score in range(1, 6)],
            )
        )
    return rows


@dataclass(frozen=True)
class PreferenceRow:
    key: str
    name: str
    count: int
    share: float  # percent of complete rankings


def primary_preference_shares(*, study: Study) -> tuple[list[PreferenceRow], int]:
    """Rank-1 shares (percent) of each rankable criterion, largest first, and the number of rankings."""
    rankings = [r for r in _latest_values(study=study, item_key=keys.RANKING) if isinstance(r, dict)]
    firsts = Counter(next((key for key, rank in r.items() if rank == 1), None) for r in rankings)
    total = len(rankings)
    rows = [
        PreferenceRow(
            key=c.key,
            name=c.name,
            count=firsts.get(c.key, 0),
            share=round(100 * firsts.get(c.key, 0) / total, 1) if total else 0.0,
        )
        for c in rankable_criteria(criteria=study_criteria(study=study))
    ]
    rows.sort(key=lambda row: (-row.count, row.name))
    return rows, total


def _latest_values(*, study: Study, item_key: str) -> list[Any]:
    return list(
        Answer.objects.filter(
            participant__study=study, participant__status=ParticipantStatus.COMPLETED, item__key=item_key
        ).values_list("value", flat=True)
    )


def _current_labels(*, item_key: str) -> list[tuple[str, str]]:
    """Options of an item, newest version first, then values only older versions offered."""
    seen: dict[str, str] = {}
    for choices in (
        Item.objects.filter(key=item_key).order_by("-instrument__version").values_list("choices", flat=True)
    ):
        for value, label in choices:
            seen.setdefault(str(value), label)
    return list(seen.items())


@dataclass(frozen=True)
class Breakdown:
    key: str
    title: str
    rows: list[tuple[str, Cell]]  # (label, cell)
    total: Cell
    multi: bool


def demographic_breakdowns(*, study: Study) -> list[Breakdown]:
    """One table per demographic/background item over complete responses, hidden as the de-identification
    policy says (quasi-identifiers only)."""
    prompts = dict(Item.objects.filter(instrument__is_current=True).values_list("key", "prompt"))
    tables = []
    for item_key in keys.BREAKDOWN_ITEMS:
        labels = _current_labels(item_key=item_key)
        counts = Counter(str(v) for v in _latest_values(study=study, item_key=item_key))
        table: OneWayTable = single_choice_table(
            key=item_key, counts={value: counts.get(value, 0) for value, _ in labels}
        )
        tables.append(
            Breakdown(
                key=item_key,
                title=prompts.get(item_key, item_key),
                rows=[(label, table.cells[value]) for value, label in labels],
                total=table.total,
                multi=False,
            )
        )
    for item_key in keys.MULTI_BREAKDOWN_ITEMS:
        labels = _current_labels(item_key=item_key)
        values = _latest_values(study=study, item_key=item_key)
        counts = Counter(str(v) for chosen in values for v in chosen)
        cells = multi_choice_cells(key=item_key, counts={value: counts.get(value, 0) for value, _ in labels})
        tables.append(
            Breakdown(
                key=item_key,
                title=prompts.get(item_key, item_key),
                rows=[(label, cells[value]) for value, label in labels],
                total=respondents_cell(key=item_key, count=len(values)),
                multi=True,
            )
        )
    return tables


def hidden_cell_count(*, breakdowns: list[Breakdown]) -> tuple[int, int]:
    """(hidden, non-empty) answer cells over `breakdowns`: how much suppression costs at this size."""
    cells = [cell for table in breakdowns for _, cell in table.rows if cell.count]
    return sum(cell.suppressed for cell in cells), len(cells)


@dataclass(frozen=True)
class CrossTab:
    title: str
    row_labels: list[tuple[str, str]]
    column_labels: list[tuple[str, str]]
    table: TwoWayTable

    def rows(self) -> list[tuple[str, list[Cell], Cell]]:
        return [
            (
                label,
                [self.table.cells[(value, column)] for column, _ in self.column_labels],
                self.table.row_totals[value],
            )
            for value, label in self.row_labels
        ]

    def column_totals(self) -> list[Cell]:
        return [self.table.column_totals[column] for column, _ in self.column_labels]


def cross_tabulation(*, study: Study) -> CrossTab:
    row_key, column_key = keys.CROSS_TAB
    pairs = defaultdict(dict)
    for participant_id, key, value in Answer.objects.filter(
        participant__study=study,
        participant__status=ParticipantStatus.COMPLETED,
        item__key__in=keys.CROSS_TAB,
    ).values_list("participant_id", "item__key", "value"):
        pairs[participant_id][key] = str(value)
    counts = Counter((p[row_key], p[column_key]) for p in pairs.values() if row_key in p and column_key in p)
    row_labels, column_labels = _current_labels(item_key=row_key), _current_labels(item_key=column_key)
    table = cross_table(counts=counts, rows=[v for v, _ in row_labels], columns=[v for v, _ in column_labels])
    return CrossTab(
        title=f"{row_key.replace('_', ' ').capitalize()} by {column_key}",
        row_labels=row_labels,
        column_labels=column_labels,
        table=table,
    )


def safety_flags(*, study: Study) -> QuerySet[SafetyFlag]:
    return SafetyFlag.objects.filter(participant__study=study).select_related("participant", "reviewed_by")


def flagged_text(*, flag: SafetyFlag) -> str:
    """The flagged free text, for the research team's follow-up ('' once the participant withdrew)."""
    value = (
        Answer.objects.filter(participant_id=flag.participant_id, item__key=flag.item_key)
        .values_list("value", flat=True)
        .first()
    )
    return value if isinstance(value, str) else ""


# ---- consumed by other apps ------------------------------------------------------------------------------


def personas_for_judging(*, study: Study | None = None, split: str | None = None) -> QuerySet[Persona]:
    """Selected personas (for LLM persona judges), optionally of one study and one split ('train'/'test').
    Personas of participants who withdrew are gone (withdrawal deletes them)."""
    personas = Persona.objects.filter(selected=True).select_related("study").order_by("study_id", "id")
    if study is not None:
        personas = personas.filter(study=study)
    if split is not None:
        personas = personas.filter(split=split)
    return personas


def objective_weight_sets(*, study: Study | None = None) -> QuerySet[ObjectiveWeightSet]:
    """Every MODPO objective-weight set, newest first (optionally one study's)."""
    sets = ObjectiveWeightSet.objects.select_related("study")
    return sets.filter(study=study) if study is not None else sets
