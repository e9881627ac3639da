from django.apps import AppConfig


class SurveyAppConfig(AppConfig):
    name = "survey_app"
