from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    label = "evaluation"
    verbose_name = "Evaluation: head-to-head comparisons and blinded clinician studies"

    def ready(self) -> None:
        # Register the evaluation job handler with core's job runner (web process and default-queue worker).
        from evaluation import jobs  # noqa: F401
        from evaluation.receivers import evaluation_score_run_finished
        from training_worker.signals import run_finished

        # A succeeded scoring run's scores land in its evaluation without a second click.
        run_finished.connect(evaluation_score_run_finished, dispatch_uid="evaluation_score_run_finished")
