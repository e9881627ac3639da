from django.urls import path, register_converter

from evaluation.api import clinician as clinician_api
from evaluation.api import evaluations as evaluations_api
from evaluation.api import studies as studies_api
from evaluation.views import clinician, evaluations, studies


class TokenConverter:
    """An opaque clinician-facing token (URL-safe base64), never a database id."""

    regex = "[A-Za-z0-9_-]{16,40}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "token")

urlpatterns = [
    # Researchers: head-to-head evaluations
    path("evaluations/", evaluations.EvaluationListView.as_view(), name="evaluation-list"),
    path("evaluations/new/", evaluations.EvaluationCreateView.as_view(), name="evaluation-new"),
    path(
        "evaluations/test-endpoint/",
        evaluations.EvaluationEndpointTestView.as_view(),
        name="evaluation-test-endpoint",
    ),
    path("evaluations/<dbid:pk>/", evaluations.EvaluationDetailView.as_view(), name="evaluation-detail"),
    path(
        "evaluations/<dbid:pk>/launch/", evaluations.EvaluationLaunchView.as_view(), name="evaluation-launch"
    ),
    path(
        "evaluations/<dbid:pk>/cancel/", evaluations.EvaluationCancelView.as_view(), name="evaluation-cancel"
    ),
    path(
        "evaluations/<dbid:pk>/figures/<slug:name>.<str:fmt>",
        evaluations.EvaluationFigureView.as_view(),
        name="evaluation-figure",
    ),
    path(
        "evaluations/<dbid:pk>/tables/<slug:name>.csv",
        evaluations.EvaluationTableView.as_view(),
        name="evaluation-table",
    ),
    path(
        "evaluations/<dbid:pk>/results.json",
        evaluations.EvaluationResultsJsonView.as_view(),
        name="evaluation-results-json",
    ),
    # Researchers: clinician studies
    path("evaluations/studies/new/", studies.StudyCreateView.as_view(), name="study-new"),
    path("evaluations/studies/<dbid:pk>/", studies.StudyDetailView.as_view(), name="study-detail"),
    path("evaluations/studies/<dbid:pk>/close/", studies.StudyCloseView.as_view(), name="study-close"),
    path("evaluations/studies/<dbid:pk>/unblind/", studies.StudyUnblindView.as_view(), name="study-unblind"),
    path(
        "evaluations/studies/<dbid:pk>/figures/winrates.<str:fmt>",
        studies.StudyFigureView.as_view(),
        name="study-figure",
    ),
    path(
        "evaluations/studies/<dbid:pk>/tables/<slug:name>.csv",
        studies.StudyTableView.as_view(),
        name="study-table",
    ),
    path(
        "evaluations/studies/<dbid:pk>/results.json",
        studies.StudyResultsJsonView.as_view(),
        name="study-results-json",
    ),
    # Clinicians (blinded; tokens only)
    path("clinician/", clinician.ClinicianHomeView.as_view(), name="clinician-home"),
    path("clinician/studies/<token:token>/", clinician.ClinicianStudyView.as_view(), name="clinician-study"),
    path(
        "clinician/studies/<token:token>/question/",
        clinician.ClinicianGuessView.as_view(),
        name="clinician-guesses",
    ),
    path("clinician/items/<token:token>/", clinician.ClinicianItemView.as_view(), name="clinician-item"),
    path(
        "clinician/items/<token:token>/skip/",
        clinician.ClinicianSkipView.as_view(),
        name="clinician-item-skip",
    ),
]

api_urlpatterns = [
    path("evaluations/", evaluations_api.EvaluationListApi.as_view(), name="api-evaluations"),
    path("evaluations/<dbid:pk>/", evaluations_api.EvaluationDetailApi.as_view(), name="api-evaluation"),
    path(
        "evaluations/<dbid:pk>/launch/",
        evaluations_api.EvaluationLaunchApi.as_view(),
        name="api-evaluation-launch",
    ),
    path(
        "evaluations/<dbid:pk>/cancel/",
        evaluations_api.EvaluationCancelApi.as_view(),
        name="api-evaluation-cancel",
    ),
    path("clinician-studies/", studies_api.StudyListApi.as_view(), name="api-clinician-studies"),
    path("clinician-studies/<dbid:pk>/", studies_api.StudyDetailApi.as_view(), name="api-clinician-study"),
    path(
        "clinician-studies/<dbid:pk>/close/",
        studies_api.StudyCloseApi.as_view(),
        name="api-clinician-study-close",
    ),
    path(
        "clinician-studies/<dbid:pk>/unblind/",
        studies_api.StudyUnblindApi.as_view(),
        name="api-clinician-study-unblind",
    ),
    path(
        "clinician-studies/<dbid:pk>/results/",
        studies_api.StudyResultsApi.as_view(),
        name="api-clinician-study-results",
    ),
    path(
        "clinician/studies/", clinician_api.ClinicianStudyListApi.as_view(), name="api-clinician-own-studies"
    ),
    path(
        "clinician/items/<token:token>/", clinician_api.ClinicianItemApi.as_view(), name="api-clinician-item"
    ),
    path(
        "clinician/items/<token:token>/ratings/",
        clinician_api.ClinicianRatingApi.as_view(),
        name="api-clinician-item-ratings",
    ),
]
