"""The persona export is de-identified like responses.csv: per-export keyed ids and the same
de-identification policy on quasi-identifiers; each export is audit-logged."""

import csv
import io
import json
import zipfile

import pytest
from django.test import Client

from core.models import AuditEvent, Job
from core.services import job_run
from survey_app.models import Persona, PersonaSplit
from survey_app.services.derived import personas_build
from survey_app.services.participants import survey_submit
from tests.survey_app.factories import StudyFactory, answer_pages, enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(researcher):
    """11 respondents aged 25 to 34 and 1 aged 35 to 44 (a small cell), who alone also chose Asian;
    every one a selected persona."""
    study = StudyFactory()
    for age_group, ethnicity in [("25_34", ["white"])] * 11 + [("35_44", ["white", "asian"])]:
        participant = enrol(study).participant
        answer_pages(
            participant, overrides={"age_group": age_group, "gender": "woman", "ethnicity": ethnicity}
        )
        survey_submit(participant=participant)
    personas_build(study=study, actor=researcher)
    Persona.objects.filter(study=study).update(selected=True, split=PersonaSplit.TRAIN)
    return study


@pytest.fixture
def client(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def export(client, study) -> list[dict]:
    response = client.get(f"/studies/{study.slug}/personas/export/")
    assert response.status_code == 200
    return [json.loads(line) for line in response.content.decode().splitlines()]


def test_persona_ids_are_new_to_each_export_and_never_database_ids(study, client, settings):
    first, second = export(client, study), export(client, study)
    settings.PSEUDONYM_KEY = "another-deployment-key"
    rekeyed = export(client, study)
    ids = [{line["persona_id"] for line in lines} for lines in (first, second, rekeyed)]
    assert all(len(batch) == 12 for batch in ids)
    assert not ids[0] & ids[1] and not ids[0] & ids[2] and not ids[1] & ids[2]
    personas = Persona.objects.filter(study=study)
    database_ids = {str(p.pk) for p in personas} | {str(p.participant_id) for p in personas}
    assert not database_ids & (ids[0] | ids[1] | ids[2])
    assert not any(isinstance(line["persona_id"], int) for line in first)


def test_a_small_demographic_cell_is_suppressed_as_in_responses_csv(
    study, client, django_capture_on_commit_callbacks
):
    """35 to 44 (1 respondent) is small; with the total, 25 to 34 (11) would give it away, so it is hidden
    too (secondary suppression), as on the dashboard. Asian (1) is replaced within the list."""
    texts = [line["text"] for line in export(client, study)]
    demographics = sorted(text.splitlines()[1] for text in texts)
    assert demographics.count("Demographics: age group suppressed; gender Woman; ethnicity White.") == 11
    assert "Demographics: age group suppressed; gender Woman; ethnicity White, suppressed." in demographics
    assert "to 34" not in json.dumps(texts) and "to 44" not in json.dumps(texts)
    assert "Asian" not in json.dumps(texts)

    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/studies/{study.slug}/export/", {})
    job = Job.objects.get(kind="survey_export")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    with zipfile.ZipFile(job.output.open("rb")) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("responses.csv").decode())))
    assert {row["age_group"] for row in rows} == {"suppressed"}
    assert {row["ethnicity__asian"] for row in rows} == {"suppressed"}
    assert {row["ethnicity__white"] for row in rows} == {"1"}
    assert job.result["suppressed"] == ["age_group=25_34", "age_group=35_44", "ethnicity__asian"]


def test_the_persona_export_is_audit_logged(study, client, researcher):
    export(client, study)
    event = AuditEvent.objects.get(action="survey.personas_export")
    assert event.actor == researcher and event.object_id == str(study.pk)
    assert event.detail == {
        "personas": 12,
        "suppressed": {"age_group": ["25_34", "35_44"], "ethnicity": ["asian"]},
    }
