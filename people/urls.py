from django.urls import path

from people import api, views

urlpatterns = [
    path("people/", views.PeopleView.as_view(), name="people"),
    path("people/<dbid:pk>/role/", views.PersonRoleView.as_view(), name="person-role"),
    path(
        "people/<dbid:pk>/deactivate/", views.PersonActiveView.as_view(active=False), name="person-deactivate"
    ),
    path(
        "people/<dbid:pk>/reactivate/", views.PersonActiveView.as_view(active=True), name="person-reactivate"
    ),
    path("people/invitations/", views.InvitationCreateView.as_view(), name="invitation-create"),
    path(
        "people/invitations/<dbid:pk>/revoke/", views.InvitationRevokeView.as_view(), name="invitation-revoke"
    ),
    path("invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
]

api_urlpatterns = [
    path("people/", api.PeopleListApi.as_view(), name="api-people"),
    path("people/<dbid:pk>/role/", api.PersonRoleApi.as_view(), name="api-person-role"),
    path("people/<dbid:pk>/deactivate/", api.PersonDeactivateApi.as_view(), name="api-person-deactivate"),
    path("people/<dbid:pk>/reactivate/", api.PersonReactivateApi.as_view(), name="api-person-reactivate"),
    path("invitations/", api.InvitationListApi.as_view(), name="api-invitations"),
    path("invitations/new/", api.InvitationCreateApi.as_view(), name="api-invitation-create"),
    path("invitations/<dbid:pk>/revoke/", api.InvitationRevokeApi.as_view(), name="api-invitation-revoke"),
]
