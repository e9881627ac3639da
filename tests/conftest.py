"""Shared fixtures. Under CI=true the real services are mandatory: a missing one fails the run loudly."""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from core.roles import Role
from tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def pytest_configure(config) -> None:
    if not IN_CI:
        return
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit("CI=true but DATABASE_URL does not select PostgreSQL.", returncode=3)
    if not _reachable(f"postgres://{database['HOST']}:{database['PORT'] or 5432}", 5432):
        pytest.exit(
            f"CI=true but PostgreSQL is unreachable at {database['HOST']}:{database['PORT']}.", returncode=3
        )
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url or not _reachable(redis_url, 6379):
        pytest.exit(f"CI=true but Redis is unreachable (REDIS_URL={redis_url!r}).", returncode=3)


@pytest.fixture
def redis_url() -> str:
    """The Redis broker URL for tests with real worker processes (skipped outside CI when absent)."""
    url = os.environ.get("REDIS_URL", "")
    if not url or not _reachable(url, 6379):
        pytest.skip("Redis not configured (set REDIS_URL); CI=true makes this a failure.")
    return url


@pytest.fixture
def postgres_only() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("Needs PostgreSQL (set DATABASE_URL); CI=true makes this a failure.")


@pytest.fixture
def researcher(db):
    return UserFactory(role=Role.RESEARCHER)


@pytest.fixture
def clinician(db):
    return UserFactory(role=Role.CLINICIAN)


@pytest.fixture
def annotator(db):
    return UserFactory(role=Role.ANNOTATOR)


def _api_client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def researcher_api(researcher) -> APIClient:
    return _api_client_for(researcher)


@pytest.fixture
def clinician_api(clinician) -> APIClient:
    return _api_client_for(clinician)


@pytest.fixture(autouse=True)
def _artifact_root(tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "artifacts"
