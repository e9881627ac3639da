from django.apps import AppConfig


class SurveyAppConfig(AppConfig):
    name = "survey_app"
    verbose_name = "Lived-experience survey"

    def ready(self) -> None:
        # Register the export job handler with core's job runner (web process and default-queue worker).
        from survey_app.services import exports  # noqa: F401
