"""People and invitations over the API: researchers only, 400 with field errors, tokens shown once."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from core.models import AuditEvent
from core.roles import Role, user_roles
from people.models import Invitation, InvitationState

pytestmark = pytest.mark.django_db

OPERATIONS = [
    ("get", "/api/people/", None),
    ("post", "/api/people/1/role/", {"role": "annotator"}),
    ("post", "/api/people/1/deactivate/", None),
    ("post", "/api/people/1/reactivate/", None),
    ("get", "/api/invitations/", None),
    ("post", "/api/invitations/new/", {"role": "researcher"}),
    ("post", "/api/invitations/1/revoke/", None),
]


@pytest.mark.parametrize(("method", "url", "body"), OPERATIONS)
def test_only_researchers_may_call(clinician_api, method, url, body):
    assert getattr(clinician_api, method)(url, body, format="json").status_code == 403
    assert getattr(APIClient(), method)(url, body, format="json").status_code in (401, 403)
    assert not Invitation.objects.exists()


def test_creating_an_invitation_returns_its_link_once(researcher_api):
    response = researcher_api.post(
        "/api/invitations/new/", {"role": "annotator", "expires_in_days": 2, "note": "RA"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "annotator" and body["state"] == "open" and body["note"] == "RA"
    token = body["link"].rstrip("/").rsplit("/", 1)[1]
    listed = researcher_api.get("/api/invitations/").json()
    assert listed["count"] == 1 and token not in str(listed)
    assert "link" not in listed["results"][0]
    assert not any(token in str(event.detail) for event in AuditEvent.objects.all())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "role"),
        ({"role": "boss"}, "role"),
        ({"role": "annotator", "expires_in_days": 0}, "expires_in_days"),
        ({"role": "annotator", "expires_in_days": "week"}, "expires_in_days"),
        ({"role": "annotator", "note": "x" * 201}, "note"),
        ({"role": "annotator", "request_key": "nope"}, "request_key"),
        ({"role": "annotator", "token": "mine"}, "token"),
    ],
)
def test_a_bad_invitation_request_is_a_400_with_field_errors(researcher_api, body, field):
    response = researcher_api.post("/api/invitations/new/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Invitation.objects.exists()


def test_the_same_request_key_twice_is_a_409(researcher_api):
    body = {"role": "clinician", "request_key": "6f0c3a52-2d5e-4b8e-9a51-0d2f1f7e0c11"}
    assert researcher_api.post("/api/invitations/new/", body, format="json").status_code == 201
    assert researcher_api.post("/api/invitations/new/", body, format="json").status_code == 409
    assert Invitation.objects.count() == 1


def test_revoking_an_invitation(researcher_api, invitation):
    created, _ = invitation
    response = researcher_api.post(f"/api/invitations/{created.pk}/revoke/")
    assert response.status_code == 200 and response.json()["state"] == InvitationState.REVOKED
    again = researcher_api.post(f"/api/invitations/{created.pk}/revoke/")
    assert again.status_code == 409 and "unused" in again.json()["detail"]
    assert researcher_api.post("/api/invitations/999999/revoke/").status_code == 404


def test_listing_people_with_their_roles_and_work(researcher_api, researcher, clinician):
    people = {person["username"]: person for person in researcher_api.get("/api/people/").json()}
    assert people[clinician.username]["roles"] == ["clinician"]
    assert people[researcher.username]["is_active"] is True
    assert people[clinician.username]["comparisons_rated"] == 0


def test_changing_a_role(researcher_api, annotator):
    response = researcher_api.post(f"/api/people/{annotator.pk}/role/", {"role": "researcher"}, format="json")
    assert response.status_code == 200 and response.json()["roles"] == ["researcher"]
    assert user_roles(annotator) == {Role.RESEARCHER}
    bad = researcher_api.post(f"/api/people/{annotator.pk}/role/", {"role": "admin"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()
    extra = researcher_api.post(
        f"/api/people/{annotator.pk}/role/", {"role": "clinician", "x": 1}, format="json"
    )
    assert extra.status_code == 400 and "x" in extra.json()
    missing = researcher_api.post("/api/people/999999/role/", {"role": "clinician"}, format="json")
    assert missing.status_code == 404
    assert user_roles(annotator) == {Role.RESEARCHER}


def test_deactivating_and_reactivating(researcher_api, researcher, clinician):
    response = researcher_api.post(f"/api/people/{clinician.pk}/deactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    own = researcher_api.post(f"/api/people/{researcher.pk}/deactivate/")
    assert own.status_code == 403 and "yourself" in own.json()["detail"]
    response = researcher_api.post(f"/api/people/{clinician.pk}/reactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert get_user_model().objects.get(pk=researcher.pk).is_active
