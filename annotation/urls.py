from django.urls import path

from annotation.api import data as data_api
from annotation.api import judges as judges_api
from annotation.api import ranking as ranking_api
from annotation.api import snapshots as snapshots_api
from annotation.views import data, judging, ranking, snapshots

urlpatterns = [
    # Researchers: preference data
    path("annotation/", data.AnnotationHomeView.as_view(), name="annotation-home"),
    path("annotation/banks/import/", data.QuestionBankImportView.as_view(), name="annotation-bank-import"),
    path("annotation/banks/<dbid:pk>/", data.QuestionBankDetailView.as_view(), name="annotation-bank"),
    path(
        "annotation/banks/<dbid:pk>/responses/",
        data.ResponseSetImportView.as_view(),
        name="annotation-response-import",
    ),
    path(
        "annotation/response-sets/<dbid:pk>/",
        data.ResponseSetDetailView.as_view(),
        name="annotation-response-set",
    ),
    path(
        "annotation/response-sets/<dbid:pk>/items/<dbid:question_pk>/",
        data.ItemView.as_view(),
        name="annotation-item",
    ),
    path("annotation/personas/", data.PersonaListView.as_view(), name="annotation-personas"),
    path(
        "annotation/personas/from-survey/",
        data.PersonasFromSurveyView.as_view(),
        name="annotation-personas-from-survey",
    ),
    path("annotation/campaigns/new/", ranking.CampaignCreateView.as_view(), name="annotation-campaign-new"),
    path("annotation/campaigns/<dbid:pk>/", ranking.CampaignDetailView.as_view(), name="annotation-campaign"),
    path(
        "annotation/campaigns/<dbid:pk>/close/",
        ranking.CampaignCloseView.as_view(),
        name="annotation-campaign-close",
    ),
    path("annotation/judge-jobs/new/", judging.JudgeJobCreateView.as_view(), name="annotation-judge-job-new"),
    path(
        "annotation/judge-jobs/test-endpoint/",
        judging.JudgeJobEndpointTestView.as_view(),
        name="annotation-judge-job-test-endpoint",
    ),
    path(
        "annotation/judge-jobs/<dbid:pk>/", judging.JudgeJobDetailView.as_view(), name="annotation-judge-job"
    ),
    path(
        "annotation/judge-jobs/<dbid:pk>/launch/",
        judging.JudgeJobLaunchView.as_view(),
        name="annotation-judge-job-launch",
    ),
    path(
        "annotation/judge-jobs/<dbid:pk>/cancel/",
        judging.JudgeJobCancelView.as_view(),
        name="annotation-judge-job-cancel",
    ),
    path("annotation/snapshots/new/", snapshots.SnapshotCreateView.as_view(), name="annotation-snapshot-new"),
    path(
        "annotation/snapshots/<dbid:pk>/", snapshots.SnapshotDetailView.as_view(), name="annotation-snapshot"
    ),
    path(
        "annotation/snapshots/<dbid:pk>/download/",
        snapshots.SnapshotDownloadView.as_view(),
        name="annotation-snapshot-download",
    ),
    # Annotators
    path("annotate/", ranking.AnnotatorHomeView.as_view(), name="annotator-home"),
    path("annotate/tasks/<dbid:pk>/", ranking.RankingTaskView.as_view(), name="annotator-task"),
    path("annotate/tasks/<dbid:pk>/skip/", ranking.RankingTaskSkipView.as_view(), name="annotator-task-skip"),
]

api_urlpatterns = [
    path("annotation/question-banks/", data_api.QuestionBankListApi.as_view(), name="api-question-banks"),
    path("annotation/response-sets/", data_api.ResponseSetListApi.as_view(), name="api-response-sets"),
    path(
        "annotation/response-sets/<dbid:pk>/items/<dbid:question_pk>/rankings/",
        data_api.ItemRankingsApi.as_view(),
        name="api-item-rankings",
    ),
    path("annotation/personas/", data_api.PersonaListApi.as_view(), name="api-personas"),
    path("annotation/personas/import/", data_api.PersonaImportApi.as_view(), name="api-personas-import"),
    path("annotation/campaigns/", ranking_api.CampaignListApi.as_view(), name="api-campaigns"),
    path(
        "annotation/campaigns/<dbid:pk>/agreement/",
        data_api.CampaignAgreementApi.as_view(),
        name="api-campaign-agreement",
    ),
    path("annotation/tasks/", ranking_api.TaskListApi.as_view(), name="api-tasks"),
    path("annotation/tasks/<dbid:pk>/", ranking_api.TaskDetailApi.as_view(), name="api-task"),
    path("annotation/tasks/<dbid:pk>/submit/", ranking_api.TaskSubmitApi.as_view(), name="api-task-submit"),
    path("annotation/tasks/<dbid:pk>/skip/", ranking_api.TaskSkipApi.as_view(), name="api-task-skip"),
    path("annotation/judge-jobs/", judges_api.JudgeJobListApi.as_view(), name="api-judge-jobs"),
    path("annotation/judge-jobs/<dbid:pk>/", judges_api.JudgeJobDetailApi.as_view(), name="api-judge-job"),
    path(
        "annotation/judge-jobs/<dbid:pk>/launch/",
        judges_api.JudgeJobLaunchApi.as_view(),
        name="api-judge-job-launch",
    ),
    path(
        "annotation/judge-jobs/<dbid:pk>/cancel/",
        judges_api.JudgeJobCancelApi.as_view(),
        name="api-judge-job-cancel",
    ),
    path("annotation/snapshots/", snapshots_api.SnapshotListApi.as_view(), name="api-snapshots"),
    path("annotation/snapshots/<dbid:pk>/", snapshots_api.SnapshotDetailApi.as_view(), name="api-snapshot"),
]
