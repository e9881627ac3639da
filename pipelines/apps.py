from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "pipelines"
    verbose_name = "Pipelines: study plans and the engine that runs them"

    def ready(self) -> None:
        from pipelines.receivers import pipeline_run_finished
        from training_worker.signals import run_finished

        # A finished run (a training step, a generation, an evaluation's scoring) advances its pipeline.
        run_finished.connect(pipeline_run_finished, dispatch_uid="pipeline_run_finished")
