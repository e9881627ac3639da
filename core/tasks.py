"""Thin Celery tasks for the default queue: fetch by id, call a service."""

from celery import shared_task

from core.services import job_run


@shared_task(name="core.job_execute")
def job_execute(job_id: int) -> None:
    job_run(job_id=job_id)
