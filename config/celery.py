"""The web tier's Celery app (queue "default"; jobs with database access)."""

import os

from celery import Celery

from config.celery_config import celery_settings, default_queue_visibility_timeout_s

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("platform")
app.conf.update(celery_settings(visibility_timeout_s=default_queue_visibility_timeout_s()))
app.autodiscover_tasks(["core", "survey_app", "annotation", "training_worker", "pipelines"])
