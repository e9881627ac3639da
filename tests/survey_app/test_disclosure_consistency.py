"""The dashboard, responses.csv and the persona export hide the same quasi-identifier cells for the same
respondents, diagnosis flags included."""

import csv
import io
import zipfile

import pytest
from django.test import Client

from core.models import AuditEvent, Job
from core.services import job_run
from survey_app.models import Item, Persona, PersonaSplit
from survey_app.selectors import demographic_breakdowns
from survey_app.services.derived import personas_build
from survey_app.services.participants import survey_submit
from tests.survey_app.factories import StudyFactory, answer_pages, enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(researcher):
    """12 respondents: 11 aged 25 to 34 with depression, 1 aged 35 to 44 who alone also has PTSD; every
    one a selected persona."""
    study = StudyFactory()
    for age_group, diagnoses in [("25_34", ["depression"])] * 11 + [("35_44", ["depression", "ptsd"])]:
        participant = enrol(study).participant
        answer_pages(participant, overrides={"age_group": age_group, "diagnoses": diagnoses})
        survey_submit(participant=participant)
    personas_build(study=study, actor=researcher)
    Persona.objects.filter(study=study).update(selected=True, split=PersonaSplit.TRAIN)
    return study


@pytest.fixture
def client(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def dashboard_hidden(study) -> dict[str, set[str]]:
    values = {
        item.key: {label: value for value, label in item.choices}
        for item in Item.objects.filter(instrument__is_current=True)
    }
    return {
        table.key: {values[table.key][label] for label, cell in table.rows if cell.suppressed}
        for table in demographic_breakdowns(study=study)
    }


def csv_hidden(client, study, django_capture_on_commit_callbacks) -> tuple[dict[str, set[str]], list[dict]]:
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/studies/{study.slug}/export/", {})
    job = Job.objects.get(kind="survey_export")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    with zipfile.ZipFile(job.output.open("rb")) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("responses.csv").decode())))
    hidden: dict[str, set[str]] = {}
    for entry in job.result["suppressed"]:
        key, value = entry.split("=") if "=" in entry else entry.split("__")
        hidden.setdefault(key, set()).add(value)
    return hidden, rows


def test_dashboard_and_both_exports_hide_the_same_cells(study, client, django_capture_on_commit_callbacks):
    dashboard = {key: values for key, values in dashboard_hidden(study).items() if values}
    assert dashboard == {"age_group": {"25_34", "35_44"}, "diagnoses": {"ptsd"}}

    exported, rows = csv_hidden(client, study, django_capture_on_commit_callbacks)
    assert exported == dashboard
    assert {row["diagnoses__ptsd"] for row in rows} == {"suppressed"}
    assert {row["diagnoses__depression"] for row in rows} == {"1"}

    personas = client.get(f"/studies/{study.slug}/personas/export/").content.decode()
    detail = AuditEvent.objects.get(action="survey.personas_export").detail["suppressed"]
    assert {key: set(values) for key, values in detail.items()} == dashboard
    assert "PTSD" not in personas and "experience of Depression, suppressed" in personas


def test_the_dashboard_says_why_cells_are_hidden(study, client):
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert '<span class="suppressed">&le;&nbsp;10</span>' in page
    assert '<span class="suppressed">suppressed</span>' in page
    assert "a count from 1 to 10 shows as" in page and "quasi-identifiers of the data dictionary" in page
