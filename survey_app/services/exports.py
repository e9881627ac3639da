"""Survey exports: a background job writes responses.csv and data_dictionary.csv into a zip; the selected
personas are exported as JSON Lines on request.

Both apply the one de-identification policy (survey_app.analysis.disclosure), which the dashboard applies
too: each export gets its own keyed pseudonyms (rows cannot be linked across exports, between the two
kinds of export, or to participant records), identifiers are never exported, free text only when asked
for, and the quasi-identifier categories (diagnosis flags included) the dashboard would hide for the
exported respondents read `suppressed`. The columns and data_dictionary.csv come from
survey_app.analysis.dictionary, as docs/data-dictionary.md does. Withdrawn participants have no answers or
persona left, so they are in no export made after their withdrawal.
"""

import dataclasses
import io
import json
import zipfile
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction

from core.csv import SafeDictWriter, SafeWriter
from core.models import Job
from core.services import JobProgress, audit_record, job_create, job_handler
from survey_app.analysis.dictionary import META_VARIABLES, Variable, dictionary_rows, variables
from survey_app.analysis.disclosure import (
    SUPPRESSED,
    export_pseudonym,
    hidden_categories,
    suppress_answers,
)
from survey_app.analysis.personas import ResponseData, persona_text
from survey_app.models import Item, ItemKind, Participant, Study
from survey_app.selectors import completed_responses, rankable_criteria, study_criteria

EXPORT_KIND = "survey_export"
PERSONAS_EXPORT_ACTION = "survey.personas_export"


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


def _suppress_small_cells(
    rows: list[dict[str, Any]], columns: list[Variable], hidden: dict[str, set[str]]
) -> list[str]:
    """Replace hidden quasi-identifier categories. A hidden multi-select option (an ethnicity, a diagnosis
    flag) loses its whole column, so not even its 0s tell who chose it."""
    suppressed = []
    for variable in columns:
        if not hidden.get(variable.item_key):
            continue
        if variable.kind == ItemKind.MULTI:
            if variable.part in hidden[variable.item_key]:
                for row in rows:
                    row[variable.name] = SUPPRESSED
                suppressed.append(variable.name)
            continue
        for row in rows:
            if str(row[variable.name]) in hidden[variable.item_key]:
                row[variable.name] = SUPPRESSED
        suppressed += [f"{variable.name}={value}" for value in sorted(hidden[variable.item_key])]
    return suppressed


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
    columns = variables(
        items=items,
        criteria=[c.key for c in criteria],
        rankable=[c.key for c in rankable_criteria(criteria=criteria)],
        include_free_text=include_free_text,
    )
    rows = []
    for index, (participant, response) in enumerate(responses, start=1):
        submission = participant.submission
        row: dict[str, Any] = {
            "respondent": export_pseudonym(export=f"survey-export-{job.pk}", participant_id=participant.pk),
            "instrument_version": participant.instrument.version,
            "consent_version": participant.consent.version,
            "source": participant.source,
            "submitted_on": submission.submitted_at.date().isoformat(),
            "duration_min": round(submission.duration_s / 60, 1),
            "attention_failures": participant.attention_failures,
        }
        row.update({variable.name: variable.value(response.answers) for variable in columns})
        rows.append(row)
        if index % 100 == 0:
            progress.update(done=index)
    suppressed = (
        []
        if job.params.get("keep_small_cells")
        else _suppress_small_cells(
            rows, columns, hidden_categories(answers=[response.answers for _, response in responses])
        )
    )
    names = [name for name, *_ in META_VARIABLES] + [variable.name for variable in columns]
    data = io.StringIO()
    writer = SafeDictWriter(data, fieldnames=names)
    writer.writeheader()
    writer.writerows(rows)
    dictionary = io.StringIO()
    SafeWriter(dictionary).writerows(
        dictionary_rows(variables=columns, items=items, criteria_names={c.key: c.name for c in criteria})
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("responses.csv", data.getvalue())
        zipped.writestr("data_dictionary.csv", dictionary.getvalue())
    job.output.save(f"survey-{study.slug}-{job.pk}.zip", ContentFile(archive.getvalue()), save=False)
    Job.objects.filter(pk=job.pk).update(output=job.output.name, progress_done=len(rows))
    return {
        "rows": len(rows),
        "columns": len(names),
        "free_text": include_free_text,
        "suppressed": suppressed,
    }


def personas_export(*, study: Study, actor: AbstractBaseUser, request=None) -> str:
    """The selected personas of `study` as JSON Lines (id, split, quality, primary preference, text),
    audit-logged. Ids are pseudonyms keyed to this export's audit event; the text is written again from
    the answers with the quasi-identifier categories the policy hides among the exported personas
    suppressed."""
    responses = {
        participant.pk: (participant, response) for participant, response in completed_responses(study=study)
    }
    personas = [p for p in study.personas.filter(selected=True) if p.participant_id in responses]
    hidden = hidden_categories(answers=[responses[p.participant_id][1].answers for p in personas])
    event = audit_record(
        action=PERSONAS_EXPORT_ACTION,
        actor=actor,
        obj=study,
        detail={"personas": len(personas), "suppressed": {k: sorted(v) for k, v in hidden.items() if v}},
        request=request,
    )
    records = []
    for persona in personas:
        participant, response = responses[persona.participant_id]
        suppressed = dataclasses.replace(response, answers=suppress_answers(response.answers, hidden))
        records.append(
            {
                "persona_id": export_pseudonym(
                    export=f"personas-export-{event.pk}", participant_id=participant.pk
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
