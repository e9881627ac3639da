from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "annotation.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation: head-to-head comparisons and blinded clinician studies"
