from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform core: roles, audit log, jobs"

    def ready(self) -> None:
        # Connect login auditing; register the database-id URL converter.
        from django.urls import register_converter

        from core import signals  # noqa: F401
        from core.converters import DatabaseIdConverter

        register_converter(DatabaseIdConverter, "dbid")
