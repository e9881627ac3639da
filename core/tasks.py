"""Thin Celery tasks for the default queue: fetch by id, call a service."""

from celery import shared_task

from core.services import WorkBusy, job_run, jobs_republish, work_reap


@shared_task(name="core.job_execute", bind=True, max_retries=None)
def job_execute(self, job_id: int) -> None:
    try:
        job_run(job_id=job_id)
    except WorkBusy as busy:
        # Another worker holds the job and is alive: look again when it would count as gone.
        raise self.retry(countdown=busy.retry_after_s) from None


@shared_task(name="core.jobs_republish")
def jobs_republish_task(older_than_s: int) -> None:
    """Run by Celery beat: send again what a broker outage left unpublished."""
    jobs_republish(older_than_s=older_than_s)


@shared_task(name="core.work_reap")
def work_reap_task() -> None:
    """Run by Celery beat: requeue (or fail) work whose worker stopped sending heartbeats."""
    work_reap()
