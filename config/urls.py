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
from people.urls import api_urlpatterns as people_api
from pipelines.urls import api_urlpatterns as pipelines_api
from survey_app.urls import api_urlpatterns as survey_api
from training_worker.urls import api_urlpatterns as training_api

# The documentation pages are third-party bundles served from this server (drf-spectacular-sidecar) with
# nothing fetched from elsewhere; they show only the schema, so they alone get these CSP exceptions: Swagger's
# <style> block, and Redoc's injected styles and blob: search worker. Both start from script files, so
# scripts stay same-origin only.
swagger_docs = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)
redoc_docs = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
    SpectacularRedocView.as_view(url_name="api-schema", template_name="api_docs/redoc.html")
)

api_patterns = [
    *core_api,
    *criteria_api,
    *survey_api,
    *annotation_api,
    *evaluation_api,
    *training_api,
    *people_api,
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
    path("", include("people.urls")),
    path("", include("pipelines.urls")),
]

handler400 = "config.error_views.bad_request"
handler403 = "config.error_views.permission_denied"
handler404 = "config.error_views.page_not_found"
handler500 = "config.error_views.server_error"
