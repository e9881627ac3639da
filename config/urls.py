from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from annotation.urls import api_urlpatterns as annotation_api
from config.views import HomeView
from core.urls import api_urlpatterns as core_api
from criteria.urls import api_urlpatterns as criteria_api
from evaluation.urls import api_urlpatterns as evaluation_api
from pipelines.urls import api_urlpatterns as pipelines_api
from survey_app.urls import api_urlpatterns as survey_api
from training_worker.urls import api_urlpatterns as training_api

# The documentation pages are third-party bundles with a <style> block (and for Redoc an inline script,
# injected styles and a blob: worker); they show only the schema, so they alone get these CSP exceptions.
# Swagger's split view serves its start-up script as a file instead of inline.
swagger_docs = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)
redoc_docs = csp_update(
    {"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]}
)(SpectacularRedocView.as_view(url_name="api-schema"))

api_patterns = [
    *core_api,
    *criteria_api,
    *survey_api,
    *annotation_api,
    *evaluation_api,
    *training_api,
    *pipelines_api,
]

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", swagger_docs, name="api-docs"),
    path("api/redoc/", redoc_docs, name="api-redoc"),
    path("", include("core.urls")),
    path("", include("criteria.urls")),
    path("", include("annotation.urls")),
    path("", include("training_worker.urls")),
    path("", include("survey_app.urls")),
    path("", include("evaluation.urls")),
    path("", include("pipelines.urls")),
]
