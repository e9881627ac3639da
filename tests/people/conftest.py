"""Fixtures of the people tests: an open invitation and its token."""

import pytest
from django.test import Client

from core.roles import Role
from people.services import invitation_create


@pytest.fixture
def invitation(researcher):
    """An open clinician invitation and the token of its link."""
    return invitation_create(role=Role.CLINICIAN, created_by=researcher)


@pytest.fixture
def signs_in():
    """Whether the sign-in form accepts these credentials (through the lockout backend, like a browser)."""

    def attempt(username: str, password: str) -> bool:
        response = Client().post("/accounts/login/", {"username": username, "password": password})
        return response.status_code == 302

    return attempt
