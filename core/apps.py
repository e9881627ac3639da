from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform core: roles, audit log, jobs"

    def ready(self) -> None:
        # Load the web tier's Celery app so shared tasks bind to it, and connect login auditing.
        import config.celery  # noqa: F401
        from core import signals  # noqa: F401
