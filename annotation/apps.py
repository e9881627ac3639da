from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        # Register the background-job handlers (judge runs, snapshot freezes) in every process.
        from annotation import jobs  # noqa: F401
