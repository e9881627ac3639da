from django.urls import path

from training_worker import api, views, worker_api
from training_worker.generation import views as generation_views

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/launch/", views.RunLaunchView.as_view(), name="run-launch"),
    path("runs/compare/", views.RunCompareView.as_view(), name="run-compare"),
    path("runs/<dbid:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<dbid:pk>/cancel/", views.RunCancelView.as_view(), name="run-cancel"),
    path(
        "runs/<dbid:run_pk>/generate/",
        generation_views.GenerationLaunchView.as_view(),
        name="run-generate",
    ),
    path("models/", views.BaseModelListView.as_view(), name="base-model-list"),
    path(
        "runs/<dbid:pk>/artifacts/<dbid:artifact_id>/",
        views.RunArtifactDownloadView.as_view(),
        name="run-artifact-download",
    ),
    path(
        "annotation/banks/<dbid:bank_pk>/generate/",
        generation_views.GenerationLaunchView.as_view(),
        name="annotation-generate",
    ),
    path(
        "annotation/response-sets/<dbid:pk>/ingest/",
        generation_views.ResponseSetIngestView.as_view(),
        name="annotation-response-ingest",
    ),
]

api_urlpatterns = [
    path("runs/", api.RunListApi.as_view(), name="api-run-list"),
    path("runs/launch/", api.RunLaunchApi.as_view(), name="api-run-launch"),
    path("models/", api.BaseModelListApi.as_view(), name="api-base-model-list"),
    path("models/choices/", api.ModelChoicesApi.as_view(), name="api-model-choices"),
    path("generations/", api.GenerationApi.as_view(), name="api-generation"),
    path("runs/<dbid:pk>/", api.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<dbid:pk>/events/", api.RunEventsApi.as_view(), name="api-run-events"),
    path("runs/<dbid:pk>/cancel/", api.RunCancelApi.as_view(), name="api-run-cancel"),
    path("worker/runs/<dbid:run_id>/spec/", worker_api.RunSpecApi.as_view(), name="worker-run-spec"),
    path("worker/runs/<dbid:run_id>/start/", worker_api.RunStartApi.as_view(), name="worker-run-start"),
    path(
        "worker/runs/<dbid:run_id>/heartbeat/",
        worker_api.RunHeartbeatApi.as_view(),
        name="worker-run-heartbeat",
    ),
    path(
        "worker/runs/<dbid:run_id>/inputs/<dbid:input_id>/",
        worker_api.RunInputDownloadApi.as_view(),
        name="worker-run-input",
    ),
    path("worker/runs/<dbid:run_id>/events/", worker_api.RunEventApi.as_view(), name="worker-run-events"),
    path(
        "worker/runs/<dbid:run_id>/artifacts/",
        worker_api.RunArtifactApi.as_view(),
        name="worker-run-artifacts",
    ),
    path("worker/runs/<dbid:run_id>/result/", worker_api.RunResultApi.as_view(), name="worker-run-result"),
]
