"""The People page and the invitation link: researchers only (403 otherwise), 400 on bad input, clear
pages for links that cannot be used, never a 500."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client
from django.utils import timezone

from core.roles import Role, user_roles
from people.models import Invitation, InvitationState
from people.services import invitation_accept, invitation_revoke
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unusual passphrase 7"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def researcher_client(researcher) -> Client:
    return _client(researcher)


RESEARCHER_POSTS = [
    ("/people/invitations/", {"role": "annotator", "expires_in_days": "7"}),
    ("/people/invitations/1/revoke/", {}),
    ("/people/1/role/", {"role": "annotator"}),
    ("/people/1/deactivate/", {}),
    ("/people/1/reactivate/", {}),
]


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.ANNOTATOR])
def test_the_people_page_and_its_actions_are_for_researchers_only(role):
    client = _client(UserFactory(role=role))
    assert client.get("/people/").status_code == 403
    for url, data in RESEARCHER_POSTS:
        assert client.post(url, data).status_code == 403, url
    assert not Invitation.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get("/people/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_people_page_lists_accounts_with_roles_and_last_sign_in(
    researcher_client, clinician, annotator, signs_in
):
    assert signs_in(clinician.username, PASSWORD)
    response = researcher_client.get("/people/")
    people = {person.username: person for person in response.context["people"]}
    assert people[clinician.username].roles == ["clinician"]
    assert people[clinician.username].last_login is not None
    assert people[annotator.username].last_login is None
    page = response.content.decode()
    assert f'<select id="role-{clinician.pk}"' in page and '<option value="clinician" selected>' in page
    assert "never" in page
    assert 'href="/people/"' in page  # the navigation link


def test_creating_an_invitation_shows_its_link_once(researcher_client):
    response = researcher_client.post(
        "/people/invitations/", {"role": "clinician", "expires_in_days": "3", "note": "Dr Example"}
    )
    assert response.status_code == 201
    link = response.context["link"]
    assert link.startswith("http://testserver/invitations/") and link in response.content.decode()
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert invitation.role == "clinician" and invitation.note == "Dr Example"
    assert timedelta(days=3) - (invitation.expires_at - invitation.created_at) < timedelta(seconds=5)
    assert token not in researcher_client.get("/people/").content.decode()


def test_resubmitting_the_invitation_form_makes_no_second_link(researcher_client):
    data = {
        "role": "annotator",
        "expires_in_days": "7",
        "request_key": "6f0c3a52-2d5e-4b8e-9a51-0d2f1f7e0c11",
    }
    assert researcher_client.post("/people/invitations/", data).status_code == 201
    response = researcher_client.post("/people/invitations/", data)
    assert response.status_code == 409
    assert "already created" in response.content.decode()
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"role": "boss", "expires_in_days": "7"}, "role"),
        ({"role": "annotator", "expires_in_days": "90"}, "expires_in_days"),
        ({"role": "annotator", "expires_in_days": "soon"}, "expires_in_days"),
        ({"role": "annotator", "expires_in_days": "7", "request_key": "not-a-uuid"}, "request_key"),
    ],
)
def test_a_bad_invitation_form_is_a_400_with_the_field_error(researcher_client, data, field):
    response = researcher_client.post("/people/invitations/", data)
    assert response.status_code == 400
    assert response.context["invitation_form"].errors[field]
    assert not Invitation.objects.exists()


def test_the_link_signs_the_invitee_up_with_the_role_and_signs_them_in(invitation):
    _, token = invitation
    client = Client()
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200 and "Create your account" in page.content.decode()
    response = client.post(
        f"/invitations/{token}/",
        {"username": "dr-invited", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response.url == "/"
    user = get_user_model().objects.get(username="dr-invited")
    assert int(client.session[SESSION_KEY]) == user.pk
    assert user_roles(user) == {Role.CLINICIAN}
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "dr-x", "password": "short", "password_again": "short"}, "password"),
        (
            {"username": "dr-x", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"},
            "password_again",
        ),
        ({"username": "", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, "username"),
        ({"username": "no/slashes", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, "username"),
    ],
)
def test_a_bad_sign_up_is_a_400_and_keeps_the_link(invitation, data, field):
    created, token = invitation
    response = Client().post(f"/invitations/{token}/", data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    created.refresh_from_db()
    assert created.state == InvitationState.OPEN


def _used(created, token, researcher):
    invitation_accept(token=token, username="someone", password=NEW_PASSWORD)


def _revoked(created, token, researcher):
    invitation_revoke(invitation=created, actor=researcher)


def _expired(created, token, researcher):
    Invitation.objects.filter(pk=created.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [(_used, "already been used"), (_revoked, "withdrawn"), (_expired, "expired")],
)
def test_a_spent_link_gives_a_clear_page(invitation, researcher, spoil, message):
    created, token = invitation
    spoil(created, token, researcher)
    data = {"username": "late-comer", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    for response in (Client().get(f"/invitations/{token}/"), Client().post(f"/invitations/{token}/", data)):
        assert response.status_code == 410
        assert message in response.content.decode()
        assert "This link cannot be used" in response.content.decode()
    assert not get_user_model().objects.filter(username="late-comer").exists()


def test_an_unknown_link_is_a_404_page(db):
    response = Client().get("/invitations/no-such-token/")
    assert response.status_code == 404 and "not valid" in response.content.decode()


def test_revoking_an_invitation_from_the_page(researcher_client, invitation):
    created, token = invitation
    response = researcher_client.post(f"/people/invitations/{created.pk}/revoke/")
    assert response.status_code == 302
    assert Client().get(f"/invitations/{token}/").status_code == 410
    again = researcher_client.post(f"/people/invitations/{created.pk}/revoke/")
    assert again.status_code == 409 and "Only an unused invitation" in again.content.decode()
    assert researcher_client.post("/people/invitations/999999/revoke/").status_code == 404


def test_changing_a_role_from_the_page(researcher_client, annotator):
    response = researcher_client.post(f"/people/{annotator.pk}/role/", {"role": "clinician"})
    assert response.status_code == 302
    assert user_roles(annotator) == {Role.CLINICIAN}
    assert researcher_client.post(f"/people/{annotator.pk}/role/", {"role": "boss"}).status_code == 400
    assert researcher_client.post("/people/999999/role/", {"role": "clinician"}).status_code == 404
    assert user_roles(annotator) == {Role.CLINICIAN}


def test_a_researcher_cannot_deactivate_or_demote_themselves(researcher_client, researcher):
    for url, data in (
        (f"/people/{researcher.pk}/deactivate/", {}),
        (f"/people/{researcher.pk}/role/", {"role": "annotator"}),
    ):
        response = researcher_client.post(url, data)
        assert response.status_code == 403
        assert "yourself" in response.content.decode()
    researcher.refresh_from_db()
    assert researcher.is_active and user_roles(researcher) == {Role.RESEARCHER}


def test_a_deactivated_person_is_signed_out_and_cannot_sign_in(researcher_client, clinician, signs_in):
    their_session = _client(clinician)
    assert their_session.get("/").status_code == 200
    assert researcher_client.post(f"/people/{clinician.pk}/deactivate/").status_code == 302
    assert their_session.get("/").status_code == 302
    assert not signs_in(clinician.username, PASSWORD)
    assert "Deactivated" in researcher_client.get("/people/").content.decode()
    assert researcher_client.post(f"/people/{clinician.pk}/reactivate/").status_code == 302
    assert signs_in(clinician.username, PASSWORD)
