"""Celery app of the GPU worker: `celery -A training_worker.gpu.app worker -Q gpu`. No Django, no database."""

from celery import Celery

from config.celery_config import celery_settings, gpu_queue_visibility_timeout_s

app = Celery("gpu")
app.conf.update(celery_settings(visibility_timeout_s=gpu_queue_visibility_timeout_s()))
app.conf.update(include=["training_worker.gpu.tasks"])
