"""Job status machine: guarded transitions, idempotent creation, redelivery is a no-op."""

import pytest

from core.models import Job, Status
from core.services import JobProgress, job_create, job_run, status_transition

pytestmark = pytest.mark.django_db


def test_transitions_follow_the_status_machine():
    job = Job.objects.create(kind="audit_export")
    assert not status_transition(model=Job, pk=job.pk, to=Status.SUCCEEDED)  # CREATED cannot succeed
    assert status_transition(model=Job, pk=job.pk, to=Status.QUEUED)
    assert status_transition(model=Job, pk=job.pk, to=Status.RUNNING)
    assert status_transition(model=Job, pk=job.pk, to=Status.SUCCEEDED)
    assert not status_transition(model=Job, pk=job.pk, to=Status.RUNNING)  # terminal stays terminal
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempts == 1
    assert job.started_at is not None and job.finished_at is not None


def test_same_idempotency_key_returns_the_same_job(researcher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = job_create(kind="audit_export", created_by=researcher, idempotency_key="k1")
        second = job_create(kind="audit_export", created_by=researcher, idempotency_key="k1")
    assert first.pk == second.pk
    assert len(callbacks) == 1
    assert Job.objects.count() == 1


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown job kind"):
        job_create(kind="no_such_kind")


def test_redelivered_message_for_a_finished_job_does_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = job_create(kind="audit_export")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    finished_at = job.finished_at
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempts == 1 and job.finished_at == finished_at


def test_a_failing_handler_records_the_failure(django_capture_on_commit_callbacks):
    from core.services import JOB_HANDLERS

    def explode(job, progress):
        raise RuntimeError("disk full")

    JOB_HANDLERS["explode"] = explode
    try:
        with django_capture_on_commit_callbacks(execute=False):
            job = job_create(kind="explode")
        job_run(job_id=job.pk)
    finally:
        del JOB_HANDLERS["explode"]
    job.refresh_from_db()
    assert job.status == Status.FAILED and "disk full" in job.error


def test_progress_never_passes_a_known_total():
    job = Job.objects.create(kind="audit_export")
    progress = JobProgress(job, every=1)
    progress.update(done=5)  # no total yet: recorded as given
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total) == (5, 0)
    progress.update(done=0, total=300)
    for _ in range(443):
        progress.advance()
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total, job.progress_percent) == (300, 300, 100)
    JobProgress(job).update(done=301)  # a second handle reads the total recorded before
    job.refresh_from_db()
    assert job.progress_done == 300
