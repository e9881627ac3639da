"""Thin Celery tasks of the pipeline engine on the default queue."""

from celery import shared_task

from pipelines.services.engine import pipelines_reconcile


@shared_task(name="pipelines.reconcile")
def pipelines_reconcile_task() -> None:
    """Run by Celery beat: advance every running pipeline, repairing a missed signal or a crash."""
    pipelines_reconcile()
