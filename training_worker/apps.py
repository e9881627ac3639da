from django.apps import AppConfig


class TrainingWorkerConfig(AppConfig):
    name = "training_worker"
