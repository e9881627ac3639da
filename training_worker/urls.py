from django.urls import path

from training_worker import views, worker_api

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run-list"),
]

api_urlpatterns = [
    path("worker/runs/<dbid:run_id>/spec/", worker_api.RunSpecView.as_view(), name="worker-run-spec"),
    path("worker/runs/<dbid:run_id>/start/", worker_api.RunStartView.as_view(), name="worker-run-start"),
    path(
        "worker/runs/<dbid:run_id>/inputs/<dbid:input_id>/",
        worker_api.RunInputDownloadView.as_view(),
        name="worker-run-input",
    ),
    path("worker/runs/<dbid:run_id>/events/", worker_api.RunEventView.as_view(), name="worker-run-events"),
    path(
        "worker/runs/<dbid:run_id>/artifacts/",
        worker_api.RunArtifactView.as_view(),
        name="worker-run-artifacts",
    ),
    path("worker/runs/<dbid:run_id>/result/", worker_api.RunResultView.as_view(), name="worker-run-result"),
]
