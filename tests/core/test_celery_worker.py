"""A real worker process takes a job from Redis and its result lands in PostgreSQL."""

import pytest
import redis

from core.models import Job, Status
from core.services import audit_record, job_create
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.mark.usefixtures("seeded_db")
def test_default_worker_executes_a_job_through_redis(
    redis_url, postgres_only, researcher, tmp_path, settings
):
    from config.celery import app

    redis.Redis.from_url(redis_url).flushdb()
    app.conf.broker_url = redis_url
    audit_record(action="snapshot.export", actor=researcher)
    artifacts = tmp_path / "worker-artifacts"
    settings.MEDIA_ROOT = artifacts
    with celery_worker(
        app="config.celery",
        queue="default",
        broker_url=redis_url,
        log_path=tmp_path / "worker.log",
        extra_env={"ARTIFACT_ROOT": str(artifacts)},
    ):
        job = job_create(kind="audit_export", params={"action": "snapshot"}, created_by=researcher)
        finished = wait_for(lambda: Job.objects.get(pk=job.pk).is_terminal, timeout_s=60)
    job.refresh_from_db()
    assert finished, (tmp_path / "worker.log").read_text()
    assert job.status == Status.SUCCEEDED, job.error
    assert job.result == {"rows": 1} and job.attempts == 1
    assert "snapshot.export" in (artifacts / job.output.name).read_text()
