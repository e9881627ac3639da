"""Celery app of the GPU worker: `celery -A training_worker.gpu.app worker -Q gpu`. No Django, no database."""

from celery import Celery

from config.celery_config import celery_settings

app = Celery("gpu")
app.conf.update(celery_settings())
app.conf.update(include=["training_worker.gpu.tasks"])
