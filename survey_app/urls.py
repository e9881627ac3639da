from django.urls import path

from survey_app import api
from survey_app.views import participant, researcher

urlpatterns = [
    # Participants (no account): the study link and everything after it.
    path("s/<slug:slug>/", participant.EntryView.as_view(), name="survey-entry"),
    path("s/<slug:slug>/eligibility/", participant.EligibilityView.as_view(), name="survey-eligibility"),
    path("s/<slug:slug>/q/<int:number>/", participant.PageView.as_view(), name="survey-page"),
    path("s/<slug:slug>/review/", participant.ReviewView.as_view(), name="survey-review"),
    path("s/<slug:slug>/done/", participant.CompleteView.as_view(), name="survey-complete"),
    path("s/<slug:slug>/declined/", participant.DeclinedView.as_view(), name="survey-declined"),
    path("s/<slug:slug>/not-eligible/", participant.ScreenedOutView.as_view(), name="survey-screened-out"),
    path("s/<slug:slug>/saved/", participant.SavedView.as_view(), name="survey-saved"),
    path("s/<slug:slug>/resume/", participant.ResumeView.as_view(), name="survey-resume"),
    path("s/<slug:slug>/withdraw/", participant.WithdrawView.as_view(), name="survey-withdraw"),
    path("s/<slug:slug>/withdrawn/", participant.WithdrawnView.as_view(), name="survey-withdrawn"),
    # Researchers.
    path("studies/", researcher.StudyListView.as_view(), name="survey-study-list"),
    path("studies/new/", researcher.StudyCreateView.as_view(), name="survey-study-create"),
    path("studies/<slug:slug>/", researcher.StudyDashboardView.as_view(), name="survey-study-detail"),
    path("studies/<slug:slug>/edit/", researcher.StudyEditView.as_view(), name="survey-study-edit"),
    path("studies/<slug:slug>/status/", researcher.StudyStatusView.as_view(), name="survey-study-status"),
    path("studies/<slug:slug>/export/", researcher.StudyExportView.as_view(), name="survey-study-export"),
    path(
        "studies/<slug:slug>/flags/<dbid:pk>/review/",
        researcher.SafetyFlagReviewView.as_view(),
        name="survey-flag-review",
    ),
    path("studies/<slug:slug>/personas/", researcher.PersonaListView.as_view(), name="survey-personas"),
    path(
        "studies/<slug:slug>/personas/export/",
        researcher.PersonaExportView.as_view(),
        name="survey-personas-export",
    ),
    path("studies/<slug:slug>/weights/", researcher.WeightSetListView.as_view(), name="survey-weights"),
    path(
        "studies/<slug:slug>/weights/<dbid:pk>/export/",
        researcher.WeightSetExportView.as_view(),
        name="survey-weights-export",
    ),
    path("survey/consent/", researcher.ConsentVersionsView.as_view(), name="survey-consent"),
    path("survey/questionnaire/", researcher.InstrumentEditView.as_view(), name="survey-instrument"),
]

api_urlpatterns = [
    path("survey/studies/", api.StudyListApi.as_view(), name="api-survey-studies"),
    path("survey/studies/<slug:slug>/", api.StudyDetailApi.as_view(), name="api-survey-study"),
    path("survey/studies/<slug:slug>/personas/", api.PersonaListApi.as_view(), name="api-survey-personas"),
    path(
        "survey/studies/<slug:slug>/persona-selection/",
        api.PersonaSelectionApi.as_view(),
        name="api-survey-persona-selection",
    ),
    path(
        "survey/studies/<slug:slug>/weight-sets/",
        api.WeightSetDeriveApi.as_view(),
        name="api-survey-weight-derive",
    ),
    path("survey/weight-sets/", api.WeightSetListApi.as_view(), name="api-survey-weight-sets"),
]
