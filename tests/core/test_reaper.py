"""Work whose worker vanished (killed hard, machine lost) is taken back by the reaper; a second delivery of
work a live worker holds waits instead of running it twice."""

import os
import signal
import threading
import time
from datetime import timedelta

import psutil
import pytest
import redis
from django.utils import timezone

from core.models import AuditEvent, Job, Status
from core.services import (
    JobCancelled,
    JobProgress,
    WorkBusy,
    job_create,
    job_run,
    jobs_republish,
    status_transition,
    work_reap,
)
from tests.slow_job import SLOW_JOB
from tests.workers import celery_worker, wait_for, web_broker
from training_worker.models import RunToken, TrainingRun
from training_worker.services import run_token_issue


def running(model, *, silent_for_s: float, attempts: int = 1, **fields):
    """A row claimed `attempts` times whose last heartbeat was `silent_for_s` seconds ago."""
    row = model.objects.create(status=Status.RUNNING, attempts=attempts, started_at=timezone.now(), **fields)
    model.objects.filter(pk=row.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=silent_for_s))
    return row


def stale_s(settings) -> float:
    return settings.WORK_STALE_AFTER_S + 2


@pytest.mark.django_db
def test_a_claim_takes_a_running_row_only_once_its_heartbeats_are_stale(settings):
    job = running(Job, silent_for_s=1, kind="audit_export")
    assert not status_transition(model=Job, pk=job.pk, to=Status.RUNNING)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=stale_s(settings)))
    assert status_transition(model=Job, pk=job.pk, to=Status.RUNNING)
    job.refresh_from_db()
    assert job.attempts == 2
    assert timezone.now() - job.heartbeat_at < timedelta(seconds=5), "the claim stamps the first heartbeat"


@pytest.mark.django_db
def test_a_second_delivery_while_the_holder_is_alive_waits_instead_of_running(settings):
    job = running(Job, silent_for_s=2, kind="audit_export")
    with pytest.raises(WorkBusy) as busy:
        job_run(job_id=job.pk)
    assert 1 <= busy.value.retry_after_s <= settings.WORK_STALE_AFTER_S
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.attempts == 1


@pytest.mark.django_db
def test_a_worker_whose_job_was_taken_back_stops_at_its_next_progress_write(settings):
    job = running(Job, silent_for_s=0, kind="audit_export")
    progress = JobProgress(job)
    progress.update(done=1, total=10)
    Job.objects.filter(pk=job.pk).update(attempts=2)  # reaped and claimed again by another worker
    with pytest.raises(JobCancelled):
        progress.update(done=2)
    assert not status_transition(model=Job, pk=job.pk, to=Status.SUCCEEDED, attempt=1)
    assert Job.objects.get(pk=job.pk).status == Status.RUNNING


@pytest.mark.django_db
def test_the_reaper_requeues_silent_work_and_sends_it_again(settings, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    silent = running(Job, silent_for_s=stale_s(settings), kind="audit_export")
    alive = running(Job, silent_for_s=1, kind="audit_export")
    with web_broker(redis_url):
        report = work_reap()
    assert report == {"job": {"requeued": [silent.pk], "failed": []}}
    silent.refresh_from_db()
    assert silent.status == Status.QUEUED and silent.heartbeat_at is None
    assert silent.published_at is not None, "sent again at once"
    assert redis.Redis.from_url(redis_url).llen("default") == 1
    assert Job.objects.get(pk=alive.pk).status == Status.RUNNING
    assert AuditEvent.objects.filter(action="work.requeued", object_id=str(silent.pk)).exists()


@pytest.mark.django_db
def test_the_reaper_fails_work_claimed_the_most_allowed_times(settings):
    settings.WORK_MAX_ATTEMPTS = 3
    job = running(Job, silent_for_s=stale_s(settings), attempts=3, kind="audit_export")
    with web_broker("redis://127.0.0.1:9/0"):
        assert work_reap() == {"job": {"requeued": [], "failed": [job.pk]}}
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.finished_at is not None
    assert "stopped sending heartbeats" in job.error and "3 times" in job.error
    assert AuditEvent.objects.filter(action="work.failed", object_id=str(job.pk)).exists()


@pytest.mark.django_db
def test_with_the_broker_down_a_reaped_job_waits_for_the_republisher(settings):
    job = running(Job, silent_for_s=stale_s(settings), kind="audit_export")
    with web_broker("redis://127.0.0.1:9/0"):
        work_reap()
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.published_at is None, "left for jobs_republish"


@pytest.mark.django_db
def test_a_reaped_run_cuts_off_the_silent_workers_tokens(settings, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    run = running(TrainingRun, silent_for_s=stale_s(settings), name="silent", method="dpo")
    old_token = run_token_issue(run=run)
    with web_broker(redis_url):
        assert work_reap() == {"training run": {"requeued": [run.pk], "failed": []}}
    run.refresh_from_db()
    assert run.status == Status.QUEUED
    tokens = RunToken.objects.filter(run=run)
    assert tokens.count() == 2, "the requeued message carries a fresh token"
    assert tokens.filter(revoked_at__isnull=False).count() == 1
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old_token}")
    refused = client.post(f"/api/worker/runs/{run.pk}/heartbeat/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert redis.Redis.from_url(redis_url).llen("gpu") == 1


@pytest.mark.django_db(transaction=True)
def test_a_running_job_beats_its_heartbeat_from_a_thread(settings):
    settings.WORK_HEARTBEAT_INTERVAL_S = 0.2
    job = job_create(kind=SLOW_JOB, params={"units": 6, "unit_s": 0.2})
    beats: list = []

    def watch() -> None:
        while len(beats) < 50 and not Job.objects.get(pk=job.pk).is_terminal:
            beats.append(Job.objects.get(pk=job.pk).heartbeat_at)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    job_run(job_id=job.pk)
    watcher.join()
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert len({beat for beat in beats if beat is not None}) >= 3, "the heartbeat moved while the job ran"


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.usefixtures("seeded_db")
def test_a_job_whose_worker_is_killed_hard_is_requeued_by_beat_and_finished_by_another(
    redis_url, postgres_only, tmp_path, settings
):
    """kill -9 of the worker's main process and its child (the machine is gone): the job stays RUNNING with
    its message unacknowledged; the reaper (run by a second worker's beat) requeues it once its heartbeat is
    stale, and the second worker finishes it. Exactly one attempt finishes; nothing waits for Redis'
    visibility timeout."""
    redis.Redis.from_url(redis_url).flushdb()
    fast = {
        "WORK_HEARTBEAT_INTERVAL_S": "1",
        "WORK_STALE_AFTER_S": str(settings.WORK_STALE_AFTER_S),
        "WORK_REAP_INTERVAL_S": "1",
        "JOB_REPUBLISH_INTERVAL_S": "1",
        "JOB_REPUBLISH_AFTER_S": "1",
    }
    include = ["--include", "tests.slow_job"]
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with web_broker(redis_url):
        with celery_worker(
            app="config.celery",
            queue="default",
            broker_url=redis_url,
            log_path=first_log,
            extra_env=fast,
            extra_args=include,
        ) as first:
            job = job_create(kind=SLOW_JOB, params={"units": 12, "unit_s": 0.5})
            assert wait_for(lambda: Job.objects.get(pk=job.pk).progress_done >= 3, timeout_s=60), (
                first_log.read_text()
            )
            tree = [first, *psutil.Process(first.pid).children(recursive=True)]
            for process in tree:
                os.kill(process.pid, signal.SIGKILL)
            first.wait(timeout=10)
        killed_at = time.monotonic()
        job.refresh_from_db()
        assert job.status == Status.RUNNING and job.attempts == 1
        assert redis.Redis.from_url(redis_url).hlen("unacked") == 1, "its message waits in the unacked set"
        with celery_worker(
            app="config.celery",
            queue="default",
            broker_url=redis_url,
            log_path=second_log,
            extra_env=fast,
            extra_args=[*include, "-B", "-s", str(tmp_path / "beat-schedule")],
        ):
            finished = wait_for(lambda: Job.objects.get(pk=job.pk).is_terminal, timeout_s=90)
    recovered_in = time.monotonic() - killed_at
    job.refresh_from_db()
    assert finished, second_log.read_text()[-3000:]
    assert job.status == Status.SUCCEEDED, job.error
    assert job.attempts == 2 and job.result == {"units": 12, "finished_by_attempt": 2}
    assert job.progress_done == 12
    assert recovered_in < 60, f"recovered in {recovered_in:.0f} s"
    assert AuditEvent.objects.filter(action="work.requeued", object_id=str(job.pk)).count() == 1


@pytest.mark.django_db
def test_work_whose_message_the_broker_lost_is_sent_again(settings, redis_url):
    """Sent hours ago and still QUEUED (Redis restarted without persistence): the reconciler sends it again;
    work sent recently, or still waiting unsent for less than the republish delay, is left alone."""
    redis.Redis.from_url(redis_url).flushdb()
    long_ago = timezone.now() - timedelta(seconds=settings.WORK_RESEND_AFTER_S + 60)
    lost = Job.objects.create(kind="audit_export", status=Status.QUEUED, published_at=long_ago)
    recent = Job.objects.create(kind="audit_export", status=Status.QUEUED, published_at=timezone.now())
    with web_broker(redis_url):
        assert jobs_republish(older_than_s=60) == [lost.pk]
        assert jobs_republish(older_than_s=60) == []
    lost.refresh_from_db()
    assert timezone.now() - lost.published_at < timedelta(seconds=30)
    assert Job.objects.get(pk=recent.pk).published_at == recent.published_at
    assert redis.Redis.from_url(redis_url).llen("default") == 1
