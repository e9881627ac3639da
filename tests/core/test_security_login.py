"""Sign-in throttling: a (username, address) pair is locked out after a few failures, and failed sign-ins
cannot flood the append-only audit log."""

import pytest
from django.test import Client

from core import ratelimit
from core.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str, address: str = "203.0.113.5"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_right_password_is_refused_after_too_many_wrong_ones(researcher, settings):
    client = Client()
    for _ in range(60):
        _sign_in(client, researcher.username, "wrong password")
    response = _sign_in(client, researcher.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert f"{settings.AXES_FAILURE_LIMIT} times" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_starts_at_the_failure_limit(researcher, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, researcher.username, "wrong password").status_code == 200
    assert _sign_in(client, researcher.username, "wrong password").status_code == 429


def test_the_lockout_is_per_username_and_address(researcher, annotator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(Client(), researcher.username, "wrong password")
    assert _sign_in(Client(), researcher.username, PASSWORD, address="198.51.100.7").status_code == 302
    assert _sign_in(Client(), annotator.username, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_failures(researcher, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(Client(), researcher.username, "wrong password")
    assert _sign_in(Client(), researcher.username, PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(Client(), researcher.username, "wrong password")
    assert _sign_in(Client(), researcher.username, PASSWORD).status_code == 302


def test_failed_sign_in_audit_rows_are_capped_per_address_and_the_rest_counted(db, settings, monkeypatch):
    settings.AUDIT_LOGIN_FAILURES_PER_MINUTE = 10
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_767_607_205.0)
    for index in range(60):
        _sign_in(Client(), f"nobody{index}", "wrong password")
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 10
    _sign_in(Client(), "nobody", "wrong password", address="198.51.100.7")
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 11

    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_767_607_265.0)  # the next minute
    _sign_in(Client(), "nobody-later", "wrong password")
    latest = AuditEvent.objects.filter(action="auth.login_failed").latest("pk")
    assert latest.actor_label == "nobody-later"
    assert latest.detail == {"suppressed": 50}
    _sign_in(Client(), "nobody-again", "wrong password")
    assert AuditEvent.objects.filter(action="auth.login_failed").latest("pk").detail == {}
