"""A broker outage never fails the request that created work; the reconciler sends it when Redis is back."""

from datetime import timedelta

import pytest
import redis
from django.test import Client
from django.utils import timezone

from core.models import Job, Status
from core.services import audit_record, job_create, jobs_republish
from tests.workers import celery_worker, wait_for, web_broker
from training_worker.models import RunToken, TrainingRun
from training_worker.services import training_run_enqueue

CLOSED_PORT_BROKER = "redis://127.0.0.1:9/0"


def age(model, pk: int, seconds: int = 600) -> None:
    model.objects.filter(pk=pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_an_export_with_the_broker_down_answers_normally_and_stays_queued(
    researcher, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(researcher)
    with web_broker(CLOSED_PORT_BROKER), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/audit/", {"action": "snapshot"})
    assert response.status_code == 302
    job = Job.objects.get(kind="audit_export")
    assert job.status == Status.QUEUED and job.published_at is None
    page = client.get(response["Location"]).content.decode()
    assert "Waiting for the task queue; it starts when the queue is back." in page


@pytest.mark.django_db
def test_the_queue_note_is_absent_once_the_job_was_published(researcher):
    job = job_create(kind="audit_export", params={}, created_by=researcher)
    Job.objects.filter(pk=job.pk).update(published_at=timezone.now())
    client = Client()
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Waiting for the task queue" not in page


@pytest.mark.django_db
def test_a_pass_skips_young_published_and_finished_jobs(redis_url, researcher):
    young = job_create(kind="audit_export", params={}, created_by=researcher)
    published = job_create(kind="audit_export", params={}, created_by=researcher)
    finished = job_create(kind="audit_export", params={}, created_by=researcher)
    stranded = job_create(kind="audit_export", params={}, created_by=researcher)
    for job in (published, finished, stranded):
        age(Job, job.pk)
    Job.objects.filter(pk=published.pk).update(published_at=timezone.now())
    Job.objects.filter(pk=finished.pk).update(status=Status.SUCCEEDED)
    redis.Redis.from_url(redis_url).flushdb()
    with web_broker(redis_url):
        assert jobs_republish(older_than_s=60) == [stranded.pk]
        assert jobs_republish(older_than_s=60) == []
    assert Job.objects.get(pk=young.pk).published_at is None
    assert Job.objects.get(pk=stranded.pk).published_at is not None
    assert redis.Redis.from_url(redis_url).llen("default") == 1


@pytest.mark.django_db
def test_a_pass_with_the_broker_still_down_leaves_the_job_for_the_next(researcher):
    with web_broker(CLOSED_PORT_BROKER):
        job = job_create(kind="audit_export", params={}, created_by=researcher)
        age(Job, job.pk)
        assert jobs_republish(older_than_s=60) == []
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.published_at is None


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.usefixtures("seeded_db")
def test_a_job_created_during_an_outage_runs_exactly_once_when_the_broker_is_back(
    redis_url, postgres_only, researcher, tmp_path, settings
):
    redis.Redis.from_url(redis_url).flushdb()
    audit_record(action="snapshot.export", actor=researcher)
    with web_broker(CLOSED_PORT_BROKER):
        job = job_create(kind="audit_export", params={"action": "snapshot"}, created_by=researcher)
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.published_at is None
    age(Job, job.pk)
    artifacts = tmp_path / "worker-artifacts"
    settings.MEDIA_ROOT = artifacts
    with (
        web_broker(redis_url),
        celery_worker(
            app="config.celery",
            queue="default",
            broker_url=redis_url,
            log_path=tmp_path / "worker.log",
            extra_env={"ARTIFACT_ROOT": str(artifacts)},
        ),
    ):
        assert jobs_republish(older_than_s=60) == [job.pk]
        assert jobs_republish(older_than_s=60) == []
        finished = wait_for(lambda: Job.objects.get(pk=job.pk).is_terminal, timeout_s=60)
    job.refresh_from_db()
    assert finished, (tmp_path / "worker.log").read_text()
    assert job.status == Status.SUCCEEDED, job.error
    assert job.attempts == 1 and job.result == {"rows": 1}
    assert (tmp_path / "worker.log").read_text().count("Task core.job_execute[") == 2  # received, succeeded


@pytest.mark.django_db
def test_a_run_launched_during_an_outage_is_sent_once_with_a_fresh_token(redis_url, researcher):
    run = TrainingRun.objects.create(name="outage", method="dpo", created_by=researcher)
    with web_broker(CLOSED_PORT_BROKER):
        assert training_run_enqueue(run=run)  # on_commit runs at once outside a transaction
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.published_at is None
    age(TrainingRun, run.pk)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    with web_broker(redis_url):
        jobs_republish(older_than_s=60)
        jobs_republish(older_than_s=60)
    run.refresh_from_db()
    assert run.published_at is not None
    assert client.llen("gpu") == 1
    assert RunToken.objects.filter(run=run).count() == 2
