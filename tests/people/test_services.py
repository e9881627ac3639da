"""Invitations (one-time, expiring, revocable, race-safe) and account changes (role, active)."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, PermissionDeniedError
from core.models import AuditEvent
from core.roles import Role, user_roles
from people.errors import InvitationUnusable
from people.models import Invitation, InvitationState, token_hash
from people.services import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    person_active_set,
    person_role_set,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unusual passphrase 7"


def test_an_invitation_stores_only_the_hash_of_its_token(invitation):
    created, token = invitation
    assert len(token) >= 40
    assert created.token_hash == token_hash(token) != token
    row = Invitation.objects.values().get()
    assert not any(token in str(value) for value in row.values())


def test_an_invitation_expires_after_seven_days_by_default(invitation):
    created, _ = invitation
    assert timedelta(days=7) - (created.expires_at - created.created_at) < timedelta(seconds=5)
    assert created.state == InvitationState.OPEN


@pytest.mark.parametrize("days", [0, 31, -1])
def test_an_expiry_outside_one_to_thirty_days_is_refused(researcher, days):
    with pytest.raises(ApplicationError) as refused:
        invitation_create(role=Role.ANNOTATOR, created_by=researcher, expires_in_days=days)
    assert "expires_in_days" in refused.value.field_errors
    assert not Invitation.objects.exists()


def test_the_same_request_key_creates_no_second_invitation(researcher):
    key = uuid.uuid4()
    invitation_create(role=Role.ANNOTATOR, created_by=researcher, request_key=key)
    with pytest.raises(ConflictError):
        invitation_create(role=Role.ANNOTATOR, created_by=researcher, request_key=key)
    assert Invitation.objects.count() == 1


def test_accepting_creates_the_account_with_the_role_and_spends_the_link(invitation, signs_in):
    created, token = invitation
    user = invitation_accept(token=token, username="dr-new", password=NEW_PASSWORD)
    assert user_roles(user) == {Role.CLINICIAN}
    assert signs_in("dr-new", NEW_PASSWORD)
    created.refresh_from_db()
    assert created.state == InvitationState.USED and created.used_by == user
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token=token, username="dr-other", password=NEW_PASSWORD)
    assert refused.value.state == InvitationState.USED
    assert not get_user_model().objects.filter(username="dr-other").exists()


def test_an_expired_invitation_creates_no_account(invitation):
    created, token = invitation
    Invitation.objects.filter(pk=created.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token=token, username="late", password=NEW_PASSWORD)
    assert refused.value.state == InvitationState.EXPIRED
    assert not get_user_model().objects.filter(username="late").exists()


def test_a_revoked_invitation_creates_no_account(invitation, researcher):
    created, token = invitation
    invitation_revoke(invitation=created, actor=researcher)
    assert created.state == InvitationState.REVOKED
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token=token, username="withdrawn", password=NEW_PASSWORD)
    assert refused.value.state == InvitationState.REVOKED


def test_an_unknown_token_creates_no_account(invitation):
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token="not-a-token", username="guess", password=NEW_PASSWORD)
    assert refused.value.state == "unknown"


def test_a_used_invitation_cannot_be_revoked(invitation, researcher):
    created, token = invitation
    invitation_accept(token=token, username="quick", password=NEW_PASSWORD)
    with pytest.raises(ConflictError):
        invitation_revoke(invitation=created, actor=researcher)
    created.refresh_from_db()
    assert created.state == InvitationState.USED


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("dr-new", "short", "password"),
        ("dr-new", "password1234", "password"),
        ("dr-new", "12345678901234", "password"),
        ("dr-new-long-enough", "dr-new-long-enough", "password"),
        ("", NEW_PASSWORD, "username"),
        ("has space", NEW_PASSWORD, "username"),
        ("x" * 151, NEW_PASSWORD, "username"),
    ],
)
def test_a_bad_username_or_password_is_a_field_error_and_keeps_the_link(
    invitation, username, password, field
):
    created, token = invitation
    users_before = get_user_model().objects.count()
    with pytest.raises(ApplicationError) as refused:
        invitation_accept(token=token, username=username, password=password)
    assert field in refused.value.field_errors
    assert get_user_model().objects.count() == users_before
    created.refresh_from_db()
    assert created.state == InvitationState.OPEN


def test_a_taken_username_is_refused_whatever_its_case(invitation, clinician):
    _, token = invitation
    with pytest.raises(ApplicationError) as refused:
        invitation_accept(token=token, username=clinician.username.upper(), password=NEW_PASSWORD)
    assert "username" in refused.value.field_errors


def test_invitations_are_audited_without_their_token(invitation, researcher):
    created, token = invitation
    invitation_accept(token=token, username="audited", password=NEW_PASSWORD)
    actions = list(AuditEvent.objects.filter(object_id=str(created.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["invitation.accept", "invitation.create"]
    assert not any(token in str(event.detail) for event in AuditEvent.objects.all())


def _race(*calls):
    """Run the calls in threads released together; each result is a return value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_accepts_of_one_link_create_one_account(postgres_only):
    researcher = UserFactory(role=Role.RESEARCHER)
    created, token = invitation_create(role=Role.ANNOTATOR, created_by=researcher)
    results = _race(
        lambda: invitation_accept(token=token, username="first", password=NEW_PASSWORD),
        lambda: invitation_accept(token=token, username="second", password=NEW_PASSWORD),
    )
    winners = [r for r in results if isinstance(r, get_user_model())]
    losers = [r for r in results if isinstance(r, InvitationUnusable)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].state == InvitationState.USED
    assert get_user_model().objects.filter(username__in=["first", "second"]).count() == 1
    created.refresh_from_db()
    assert created.used_by == winners[0]


def test_a_role_change_replaces_the_roles_and_is_audited(researcher, annotator):
    annotator.groups.add(*UserFactory(role=Role.CLINICIAN).groups.all())
    assert person_role_set(person=annotator, role=Role.RESEARCHER, actor=researcher)
    assert user_roles(annotator) == {Role.RESEARCHER}
    event = AuditEvent.objects.get(action="person.role_change")
    assert event.detail == {"from": ["annotator", "clinician"], "to": "researcher"}
    assert not person_role_set(person=annotator, role=Role.RESEARCHER, actor=researcher)


def test_nobody_changes_their_own_role(researcher):
    with pytest.raises(PermissionDeniedError):
        person_role_set(person=researcher, role=Role.ANNOTATOR, actor=researcher)
    assert user_roles(researcher) == {Role.RESEARCHER}


def test_the_last_active_researcher_keeps_the_role(researcher):
    admin = UserFactory(is_superuser=True)
    UserFactory(role=Role.RESEARCHER, is_active=False)
    with pytest.raises(ConflictError):
        person_role_set(person=researcher, role=Role.CLINICIAN, actor=admin)
    with pytest.raises(ConflictError):
        person_active_set(person=researcher, active=False, actor=admin)
    assert user_roles(researcher) == {Role.RESEARCHER}
    researcher.refresh_from_db()
    assert researcher.is_active


def test_a_deactivated_account_cannot_sign_in_until_reactivated(researcher, clinician, signs_in):
    assert person_active_set(person=clinician, active=False, actor=researcher)
    assert not signs_in(clinician.username, PASSWORD)
    assert not person_active_set(person=clinician, active=False, actor=researcher)
    assert person_active_set(person=clinician, active=True, actor=researcher)
    assert signs_in(clinician.username, PASSWORD)
    actions = AuditEvent.objects.filter(object_id=str(clinician.pk)).values_list("action", flat=True)
    assert sorted(actions) == ["person.deactivate", "person.reactivate"]


def test_nobody_deactivates_themselves(researcher):
    UserFactory(role=Role.RESEARCHER)
    with pytest.raises(PermissionDeniedError):
        person_active_set(person=researcher, active=False, actor=researcher)
    researcher.refresh_from_db()
    assert researcher.is_active


@pytest.mark.django_db(transaction=True)
def test_two_researchers_deactivating_each_other_at_once_leave_one_active(postgres_only):
    first, second = UserFactory(role=Role.RESEARCHER), UserFactory(role=Role.RESEARCHER)
    results = _race(
        lambda: person_active_set(person=second, active=False, actor=first),
        lambda: person_active_set(person=first, active=False, actor=second),
    )
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "bool"], results
    active = get_user_model().objects.filter(is_active=True, groups__name=Role.RESEARCHER.value)
    assert active.count() == 1
