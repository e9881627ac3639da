from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        # Register the background-job handlers (judge runs, snapshot freezes) in every process.
        from annotation import jobs  # noqa: F401
        from annotation.receivers import judge_personas_on_withdrawal
        from survey_app.signals import participant_withdrawn

        # A withdrawal reaches the participant's judge-persona copies in its own transaction.
        participant_withdrawn.connect(judge_personas_on_withdrawal, dispatch_uid="annotation.judge_personas")
