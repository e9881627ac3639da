"""The audit log is append-only, masks secrets, and researchers can filter and export it."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from core.models import AuditEvent, Job, Status
from core.services import audit_record, job_run

pytestmark = pytest.mark.django_db


def test_events_cannot_be_changed_or_deleted_through_the_orm(researcher):
    event = audit_record(action="export.download", actor=researcher)
    event.action = "something else"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_postgres_refuses_updates_and_deletes(researcher, postgres_only):
    audit_record(action="export.download", actor=researcher)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(action="tampered")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent")
    assert AuditEvent.objects.filter(action="export.download").count() == 1


def test_secrets_in_details_are_masked(researcher):
    event = audit_record(
        action="judge.configure", actor=researcher, detail={"api_key": "sk-123", "model": "m"}
    )
    assert event.detail == {"api_key": "***", "model": "m"}


def test_researcher_filters_the_log(researcher):
    audit_record(action="snapshot.export", actor=researcher)
    audit_record(action="run.launch", actor=researcher)
    client = Client()
    client.force_login(researcher)
    page = client.get("/audit/", {"action": "snapshot"}).content.decode()
    assert "snapshot.export" in page
    assert "<td>run.launch</td>" not in page


def test_export_creates_a_job_whose_csv_holds_the_filtered_events(
    researcher, django_capture_on_commit_callbacks
):
    audit_record(action="snapshot.export", actor=researcher)
    audit_record(action="run.launch", actor=researcher)
    client = Client()
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/audit/", {"action": "snapshot"})
    job = Job.objects.get(kind="audit_export")
    assert response.url == f"/jobs/{job.pk}/"
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.result == {"rows": 1}
    body = b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content).decode()
    assert "snapshot.export" in body and "run.launch" not in body
    assert AuditEvent.objects.filter(action="audit.export").exists()


@pytest.mark.parametrize("value", ["notadate", "2024-13-45T00:00", "2024-02-30"])
def test_a_date_filter_that_does_not_parse_is_a_form_error(researcher, value):
    audit_record(action="snapshot.export", actor=researcher)
    client = Client()
    client.force_login(researcher)
    response = client.get("/audit/", {"since": value})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="alert"' in page and "Since: Enter a valid date/time." in page
    assert "snapshot.export" in page and f'value="{value}"' in page  # the other filters still apply


def test_an_export_with_a_bad_filter_is_refused_with_the_error(researcher):
    client = Client()
    client.force_login(researcher)
    response = client.post("/audit/", {"until": "yesterday", "actor": "a\x00b"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Until: Enter a valid date/time." in page and "Null characters are not allowed." in page
    assert not Job.objects.filter(kind="audit_export").exists()


def test_valid_date_filters_select_events(researcher):
    audit_record(action="snapshot.export", actor=researcher)
    client = Client()
    client.force_login(researcher)
    since = client.get("/audit/", {"since": "2000-01-01T00:00"}).content.decode()
    until = client.get("/audit/", {"until": "2000-01-01T00:00"}).content.decode()
    assert "<td>snapshot.export</td>" in since and "<td>snapshot.export</td>" not in until
