"""Survey exports: a background job writes responses.csv and data_dictionary.csv into a zip; the selected
personas are exported as JSON Lines on request.

Both are de-identified the same way: each export gets its own keyed pseudonyms (rows cannot be linked
across exports, between the two kinds of export, or to participant records), Prolific identifiers are
never exported, free text only when asked for, and demographic categories (SUPPRESSIBLE) chosen by 1-10
of the exported respondents are suppressed. Diagnoses are not suppressed: they are the background the
personas and analyses are about, and the dashboard shows their counts with suppression. Withdrawn
participants have no answers or persona left, so they are in no export made after their withdrawal.
"""

import dataclasses
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction

from core.csv import SafeDictWriter, SafeWriter
from core.models import Job
from core.services import JobProgress, audit_record, job_create, job_handler
from survey_app import instrument as keys
from survey_app.analysis.personas import ResponseData, persona_text
from survey_app.analysis.suppression import SUPPRESSED, rare_categories
from survey_app.models import Item, ItemKind, Participant, Study
from survey_app.pseudonyms import keyed_pseudonym
from survey_app.selectors import completed_responses, rankable_criteria, study_criteria

EXPORT_KIND = "survey_export"
PERSONAS_EXPORT_ACTION = "survey.personas_export"
SUPPRESSIBLE = (keys.AGE_GROUP, keys.GENDER, keys.ETHNICITY)
META_VARIABLES = [
    ("respondent", "Respondent pseudonym, valid in this export only", "string"),
    ("instrument_version", "Questionnaire version answered", "integer"),
    ("consent_version", "Consent text version agreed to", "integer"),
    ("source", "How the participant arrived (prolific or direct)", "categorical"),
    ("submitted_on", "Date of submission (UTC)", "date"),
    ("duration_min", "Minutes from consent to submission", "number"),
    ("attention_failures", "Attention checks not answered as instructed", "integer"),
]


def survey_export_request(
    *,
    study: Study,
    actor: AbstractBaseUser,
    include_free_text: bool,
    keep_small_cells: bool = False,
    request=None,
) -> Job:
    """Queue an export of `study`'s complete responses and audit-log the request."""
    params = {
        "study_id": study.pk,
        "include_free_text": include_free_text,
        "keep_small_cells": keep_small_cells,
    }
    with transaction.atomic():
        job = job_create(kind=EXPORT_KIND, params=params, created_by=actor)
        audit_record(
            action="survey.export",
            actor=actor,
            obj=study,
            detail={
                "job": job.pk,
                "include_free_text": include_free_text,
                "keep_small_cells": keep_small_cells,
            },
            request=request,
        )
    return job


class _Variable:
    def __init__(self, name: str, item_key: str, kind: str, part: str = "") -> None:
        self.name, self.item_key, self.kind, self.part = name, item_key, kind, part

    def value(self, answers: dict[str, Any]) -> Any:
        value = answers.get(self.item_key)
        if value is None:
            return ""
        if self.kind == ItemKind.MULTI:
            return int(self.part in value)
        if self.kind in (ItemKind.IMPORTANCE, ItemKind.RANKING):
            return value.get(self.part, "")
        return value


def _variables(
    items: list[Item], criteria: list[str], rankable: list[str], include_free_text: bool
) -> list[_Variable]:
    """Columns in questionnaire order; multi-choice options are the union over the exported versions."""
    options: dict[str, list[str]] = {}
    ordered: list[Item] = []
    for item in items:
        if item.page == keys.ELIGIBILITY_PAGE:
            continue
        if item.key not in options:
            options[item.key] = []
            ordered.append(item)
        options[item.key] += [str(v) for v, _ in item.choices if str(v) not in options[item.key]]
    variables = []
    for item in ordered:
        if item.kind == ItemKind.MULTI:
            variables += [
                _Variable(f"{item.key}__{value}", item.key, item.kind, value) for value in options[item.key]
            ]
        elif item.kind == ItemKind.IMPORTANCE:
            variables += [_Variable(f"importance__{c}", item.key, item.kind, c) for c in criteria]
        elif item.kind == ItemKind.RANKING:
            variables += [_Variable(f"rank__{c}", item.key, item.kind, c) for c in rankable]
        elif item.kind != ItemKind.TEXT or include_free_text:
            variables.append(_Variable(item.key, item.key, item.kind))
    return variables


def _export_pseudonym(*, export: str, participant: Participant) -> str:
    """The participant's id in one export only: keyed (not reversible without PSEUDONYM_KEY) and
    domain-separated by `export`, so two exports cannot be joined."""
    return keyed_pseudonym(purpose=export, value=str(participant.pk))[:16]


def _chosen(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _rare_demographics(answers: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """By item key, the demographic categories chosen by 1-10 of the exported respondents: the one rule
    both exports apply."""
    return {key: rare_categories(choices=[_chosen(a.get(key)) for a in answers]) for key in SUPPRESSIBLE}


def _suppress_small_cells(
    rows: list[dict[str, Any]], variables: list[_Variable], rare: dict[str, set[str]]
) -> list[str]:
    """Replace rare demographic categories so no small group can be singled out. A rare multi-select
    option loses its whole column, so not even its 0s tell who chose it."""
    suppressed = []
    for variable in variables:
        if variable.item_key not in rare:
            continue
        if variable.kind == ItemKind.MULTI:
            if variable.part in rare[variable.item_key]:
                for row in rows:
                    row[variable.name] = SUPPRESSED
                suppressed.append(variable.name)
            continue
        for row in rows:
            if str(row[variable.name]) in rare[variable.item_key]:
                row[variable.name] = SUPPRESSED
        suppressed += [f"{variable.name}={value}" for value in sorted(rare[variable.item_key])]
    return suppressed


def _suppress_answers(answers: Mapping[str, Any], rare: dict[str, set[str]]) -> dict[str, Any]:
    """`answers` with rare demographic categories replaced (a multi-select keeps its other choices)."""
    result = dict(answers)
    for key, values in rare.items():
        chosen = _chosen(result.get(key))
        if not chosen or not values.intersection(chosen):
            continue
        if isinstance(result[key], list):
            result[key] = list(dict.fromkeys(SUPPRESSED if v in values else v for v in chosen))
        else:
            result[key] = SUPPRESSED
    return result


def _dictionary(
    variables: list[_Variable], items: list[Item], criteria_names: dict[str, str]
) -> list[list[str]]:
    rows = [[name, label, kind, "", "all"] for name, label, kind in META_VARIABLES]
    by_key: dict[str, list[Item]] = {}
    for item in items:
        by_key.setdefault(item.key, []).append(item)
    for variable in variables:
        for item in by_key[variable.item_key]:
            version = str(item.instrument.version)
            labels = item.choice_labels
            if variable.kind == ItemKind.MULTI:
                if variable.part not in labels:
                    continue
                label, kind, choices = (
                    f"{item.prompt} [{labels[variable.part]}]",
                    "binary",
                    "1=selected; 0=not selected",
                )
            elif variable.kind == ItemKind.IMPORTANCE:
                label, kind = f"{item.prompt} [{criteria_names[variable.part]}]", "integer 1-5"
                choices = "; ".join(f"{v}={lab}" for v, lab in item.choices)
            elif variable.kind == ItemKind.RANKING:
                label, kind, choices = (
                    f"{item.prompt} [{criteria_names[variable.part]}]",
                    "rank",
                    "1=most important",
                )
            elif variable.kind == ItemKind.TEXT:
                label, kind, choices = item.prompt, "free text", ""
            else:
                label = item.prompt
                kind = (
                    "integer 1-5" if variable.kind in (ItemKind.LIKERT, ItemKind.ATTENTION) else "categorical"
                )
                choices = "; ".join(f"{v}={lab}" for v, lab in item.choices)
                if item.expected_value:
                    choices += f" (instructed answer: {item.expected_value})"
            rows.append([variable.name, label, kind, choices, version])
    return rows


@job_handler(EXPORT_KIND)
def survey_export(job: Job, progress: JobProgress) -> dict:
    study = Study.objects.select_related("criteria_set").get(pk=job.params["study_id"])
    include_free_text = bool(job.params.get("include_free_text"))
    responses: list[tuple[Participant, ResponseData]] = completed_responses(study=study)
    progress.update(done=0, total=len(responses))
    criteria = study_criteria(study=study)
    versions = sorted({participant.instrument_id for participant, _ in responses})
    items = list(
        Item.objects.filter(instrument_id__in=versions)
        .select_related("instrument")
        .order_by("-instrument__version", "position")
    )
    variables = _variables(
        items,
        [c.key for c in criteria],
        [c.key for c in rankable_criteria(criteria=criteria)],
        include_free_text,
    )
    rows = []
    for index, (participant, response) in enumerate(responses, start=1):
        submission = participant.submission
        row: dict[str, Any] = {
            "respondent": _export_pseudonym(export=f"survey-export-{job.pk}", participant=participant),
            "instrument_version": participant.instrument.version,
            "consent_version": participant.consent.version,
            "source": participant.source,
            "submitted_on": submission.submitted_at.date().isoformat(),
            "duration_min": round(submission.duration_s / 60, 1),
            "attention_failures": participant.attention_failures,
        }
        row.update({variable.name: variable.value(dict(response.answers)) for variable in variables})
        rows.append(row)
        if index % 100 == 0:
            progress.update(done=index)
    suppressed = (
        []
        if job.params.get("keep_small_cells")
        else _suppress_small_cells(
            rows, variables, _rare_demographics([response.answers for _, response in responses])
        )
    )
    columns = [name for name, _, _ in META_VARIABLES] + [variable.name for variable in variables]
    data = io.StringIO()
    writer = SafeDictWriter(data, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    dictionary = io.StringIO()
    SafeWriter(dictionary).writerows(
        [
            ["variable", "label", "type", "choices", "instrument_version"],
            *_dictionary(variables, items, {c.key: c.name for c in criteria}),
        ]
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("responses.csv", data.getvalue())
        zipped.writestr("data_dictionary.csv", dictionary.getvalue())
    job.output.save(f"survey-{study.slug}-{job.pk}.zip", ContentFile(archive.getvalue()), save=False)
    Job.objects.filter(pk=job.pk).update(output=job.output.name, progress_done=len(rows))
    return {
        "rows": len(rows),
        "columns": len(columns),
        "free_text": include_free_text,
        "suppressed": suppressed,
    }


def personas_export(*, study: Study, actor: AbstractBaseUser, request=None) -> str:
    """The selected personas of `study` as JSON Lines (id, split, quality, primary preference, text),
    audit-logged. Ids are pseudonyms keyed to this export's audit event; the text is written again from
    the answers with demographic categories chosen by 1-10 of the exported personas suppressed."""
    responses = {
        participant.pk: (participant, response) for participant, response in completed_responses(study=study)
    }
    personas = [p for p in study.personas.filter(selected=True) if p.participant_id in responses]
    rare = _rare_demographics([responses[p.participant_id][1].answers for p in personas])
    event = audit_record(
        action=PERSONAS_EXPORT_ACTION,
        actor=actor,
        obj=study,
        detail={"personas": len(personas), "suppressed": {k: sorted(v) for k, v in rare.items() if v}},
        request=request,
    )
    records = []
    for persona in personas:
        participant, response = responses[persona.participant_id]
        suppressed = dataclasses.replace(response, answers=_suppress_answers(response.answers, rare))
        records.append(
            {
                "persona_id": _export_pseudonym(
                    export=f"personas-export-{event.pk}", participant=participant
                ),
                "split": persona.split,
                "quality_score": persona.quality_score,
                "primary_preference": persona.primary_preference,
                "text": persona_text(suppressed),
            }
        )
    # Ordered by pseudonym within each split, so the order does not reveal the order of enrolment.
    records.sort(key=lambda record: (record["split"], record["persona_id"]))
    return "".join(json.dumps(record) + "\n" for record in records)
