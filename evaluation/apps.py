from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    label = "evaluation"
    verbose_name = "Evaluation: head-to-head comparisons and blinded clinician studies"

    def ready(self) -> None:
        # Register the evaluation job handler with core's job runner (web process and default-queue worker).
        from evaluation import jobs  # noqa: F401
