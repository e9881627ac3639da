from django.urls import path

from criteria import api, views

urlpatterns = [
    path("criteria/", views.CriteriaListView.as_view(), name="criteria-list"),
    path("criteria/<slug:key>/edit/", views.CriteriaEditView.as_view(), name="criteria-edit"),
]

api_urlpatterns = [
    path("criteria-sets/", api.CriteriaSetListApi.as_view(), name="api-criteria-sets"),
    path("criteria-sets/<slug:key>/", api.CriteriaSetDetailApi.as_view(), name="api-criteria-set"),
    path(
        "criteria-sets/<slug:key>/versions/",
        api.CriteriaSetVersionCreateApi.as_view(),
        name="api-criteria-set-version-create",
    ),
]
