from django.urls import path

from pipelines import api, views

urlpatterns = [
    path("pipelines/", views.PipelineListView.as_view(), name="pipeline-list"),
    path("pipelines/start/", views.PipelineStartView.as_view(), name="pipeline-start"),
    path("pipelines/<dbid:pk>/", views.PipelineDetailView.as_view(), name="pipeline-detail"),
    path(
        "pipelines/<dbid:pk>/figures/<slug:name>.<str:fmt>",
        views.PipelineFigureView.as_view(),
        name="pipeline-figure",
    ),
    path("pipelines/<dbid:pk>/bundle.zip", views.PipelineBundleView.as_view(), name="pipeline-bundle"),
    path("pipelines/<dbid:pk>/cancel/", views.PipelineCancelView.as_view(), name="pipeline-cancel"),
    path("pipelines/<dbid:pk>/steps/<str:name>/retry/", views.StepRetryView.as_view(), name="pipeline-retry"),
]

api_urlpatterns = [
    path("pipelines/", api.PipelineListApi.as_view(), name="api-pipelines"),
    path("pipelines/validate/", api.PlanValidateApi.as_view(), name="api-pipeline-validate"),
    path("pipelines/<dbid:pk>/", api.PipelineDetailApi.as_view(), name="api-pipeline"),
    path("pipelines/<dbid:pk>/bundle/", api.PipelineBundleApi.as_view(), name="api-pipeline-bundle"),
    path("pipelines/<dbid:pk>/cancel/", api.PipelineCancelApi.as_view(), name="api-pipeline-cancel"),
    path("pipelines/<dbid:pk>/retry/", api.StepRetryApi.as_view(), name="api-pipeline-retry"),
]
