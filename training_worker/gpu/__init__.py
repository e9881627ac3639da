"""The GPU worker: a Django-free Celery app that talks to the web app only through the worker API."""
