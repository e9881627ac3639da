from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform core: roles, audit log, jobs"

    def ready(self) -> None:
        # Load the web tier's Celery app so shared tasks bind to it, and connect login auditing.
        from django.urls import register_converter

        import config.celery  # noqa: F401
        from core import signals  # noqa: F401
        from core.converters import DatabaseIdConverter

        register_converter(DatabaseIdConverter, "dbid")
