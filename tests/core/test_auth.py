"""Sign-in, roles and the pages each role may open."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from core.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_rotates_the_session_key_and_is_audited(researcher):
    client = Client()
    client.get("/accounts/login/")
    before = client.session.session_key
    response = client.post("/accounts/login/", {"username": researcher.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert AuditEvent.objects.filter(action="auth.login", actor=researcher).exists()


def test_failed_login_is_audited_without_the_password(researcher):
    Client().post("/accounts/login/", {"username": researcher.username, "password": "wrong password"})
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor_label == researcher.username
    assert "wrong password" not in str(event.detail)


def test_logout_ends_the_session(researcher):
    client = Client()
    client.force_login(researcher)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout").exists()


def test_sessions_expire():
    assert settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


@pytest.mark.parametrize("weak", ["short", "password1234", "123456789012"])
def test_weak_passwords_are_refused(weak):
    with pytest.raises(ValidationError):
        validate_password(weak)


def test_anonymous_visitors_are_sent_to_login():
    response = Client().get("/audit/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("path", ["/audit/", "/runs/", "/criteria/therapeutic/edit/"])
def test_researcher_pages_refuse_clinicians(clinician, path):
    client = Client()
    client.force_login(clinician)
    assert client.get(path).status_code == 403


def test_user_without_a_role_is_refused_everywhere(db):
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory())
    assert client.get("/").status_code == 403
    assert client.get("/api/criteria-sets/").status_code == 403


def test_researcher_home_shows_dashboard(researcher):
    client = Client()
    client.force_login(researcher)
    page = client.get("/").content.decode()
    assert "Training runs" in page and "Therapeutic qualities" in page


def test_clinician_home_has_an_empty_state(clinician):
    client = Client()
    client.force_login(clinician)
    page = client.get("/").content.decode()
    assert "No comparisons are assigned to you yet" in page
    assert "Audit log" not in page
