"""Thin Celery tasks for the default queue: fetch by id, call a service."""

from celery import shared_task

from core.services import job_run, jobs_republish


@shared_task(name="core.job_execute")
def job_execute(job_id: int) -> None:
    job_run(job_id=job_id)


@shared_task(name="core.jobs_republish")
def jobs_republish_task(older_than_s: int) -> None:
    """Run by Celery beat: send again what a broker outage left unpublished."""
    jobs_republish(older_than_s=older_than_s)
