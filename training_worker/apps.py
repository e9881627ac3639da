from django.apps import AppConfig


class TrainingWorkerConfig(AppConfig):
    name = "training_worker"

    def ready(self) -> None:
        # A generation run fills its response set as soon as it ends (training_worker.signals).
        from training_worker.generation.services import generation_run_finished
        from training_worker.signals import run_finished

        run_finished.connect(generation_run_finished, dispatch_uid="generation_run_finished")
        # Registers the training-run republisher with core's reconciler.
        import training_worker.services  # noqa: F401
