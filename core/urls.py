from django.contrib.auth import views as auth_views
from django.urls import path

from core import views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("audit/", views.AuditLogView.as_view(), name="audit-log"),
    path("jobs/<dbid:pk>/", views.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<dbid:pk>/download/", views.JobDownloadView.as_view(), name="job-download"),
]

api_urlpatterns = [
    path("jobs/<dbid:pk>/", views.JobStatusApi.as_view(), name="api-job-status"),
]
