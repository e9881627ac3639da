"""Shared fixtures. Under CI=true the real services are mandatory: a missing one fails the run loudly."""

import importlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from core.roles import Role
from tests.factories import UserFactory

# Preference-data fixtures (banks, response sets, criteria, personas) shared by annotation, training and
# evaluation tests.
pytest_plugins = ["tests.preference_data"]

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


SEED_MIGRATIONS = (
    "annotation.migrations.0002_seed_criteria_sets",
    "survey_app.migrations.0002_seed_instrument_and_consent",
)


class _CurrentModels:
    """The app registry as a data migration sees it, for models that moved app since (criteria sets)."""

    moved = {("annotation", "criteriaset"): "criteria", ("annotation", "criterion"): "criteria"}

    def get_model(self, app_label: str, model_name: str):
        return apps.get_model(self.moved.get((app_label, model_name.lower()), app_label), model_name)


@pytest.fixture
def seeded_db(transactional_db) -> None:
    """A transactional database holding the data migrations' reference data (criteria sets, instrument).

    A transactional test ends with a flush. Serialized rollback cannot be relied on to restore the seed
    once Playwright's sync API has run in the session (the connection that holds the serialized contents
    is no longer the one in use), so these tests seed it themselves with the migrations' own idempotent
    functions."""
    for module in SEED_MIGRATIONS:
        importlib.import_module(module).seed(_CurrentModels(), None)


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


def _cache_empty() -> None:
    config = settings.CACHES["default"]
    if not config["BACKEND"].endswith("RedisCache"):
        cache.clear()
        return
    with redis.Redis.from_url(config["LOCATION"]) as client:
        keys = list(client.scan_iter(match=f"{config['KEY_PREFIX']}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache (cached values are keyed by ids a rolled-back test may reuse),
    and leaves none behind. A Redis cache loses only this run's keys (test settings give each run its own
    prefix): clear() would empty the whole database, the task queue's keys with it."""
    _cache_empty()
    yield
    _cache_empty()


# ---- browser tests: Playwright driving Debian's Chromium (never a downloaded browser build) ----

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}.")
        pytest.skip(f"Chromium not installed at {CHROMIUM}.")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the tests' own ORM calls stay synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    # launch() gives every run a fresh temporary profile of its own.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
