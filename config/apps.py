from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The composition root as an app: it loads the web tier's Celery app once Django is ready, so shared
    tasks and `send_task` use the configured broker in every web process (apps import only config's
    Django-free helpers, `env` and `celery_config`)."""

    name = "config"
    verbose_name = "Platform"

    def ready(self) -> None:
        import config.celery  # noqa: F401
