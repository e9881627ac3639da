"""Property-based API fuzzing from the OpenAPI schema, in process: no server errors, no ignored auth."""

import re

import pytest
import schemathesis
from django.contrib.auth import SESSION_KEY
from django.core import signals
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth

from config.wsgi import application
from core.models import Status
from core.services import status_transition
from tests.factories import TrainingRunFactory
from training_worker.models import TrainingRun
from training_worker.services import run_token_issue

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


def test_schema_documents_every_api_operation():
    paths = set(schema.raw_schema["paths"])
    assert {"/api/criteria-sets/", "/api/worker/runs/{run_id}/result/", "/api/jobs/{id}/"} <= paths
    assert "runToken" in schema.raw_schema["components"]["securitySchemes"]


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Calling the WSGI app directly fires request_finished, which would close the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(researcher, client):
    """A researcher's session (with a CSRF pair) and a live worker token for one queued run."""
    client.force_login(researcher)
    assert client.session[SESSION_KEY]
    run = TrainingRunFactory()
    status_transition(model=TrainingRun, pk=run.pk, to=Status.QUEUED)
    csrf = get_random_string(32)
    return {
        "run_id": run.pk,
        "cookies": {"sessionid": client.session.session_key, "csrftoken": csrf},
        "headers": {"X-CSRFToken": csrf, "Authorization": f"Bearer {run_token_issue(run=run)}"},
    }


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_errors_and_enforces_auth(case, credentials):
    if "run_id" in (case.path_parameters or {}):
        case.path_parameters["run_id"] = credentials["run_id"]
    worker_operation = case.path.startswith("/api/worker/")
    headers = dict(credentials["headers"])
    if worker_operation:
        headers.pop("X-CSRFToken")
    else:
        headers.pop("Authorization")
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in credentials["cookies"].items())
    case.call_and_validate(headers=headers, checks=[not_a_server_error, ignored_auth])


UNSTORABLE_BODIES = [
    "[" * 100_000 + "]" * 100_000,
    '{"a": "\\u0000"}',
    '{"a": NaN}',
    '{"a": 1e400}',
    '{"a": "\\ud800"}',
    '{"\\udfff": 1}',
]


def _json_post_operations() -> list[str]:
    return sorted(
        path
        for path, operations in schema.raw_schema["paths"].items()
        if "application/json" in operations.get("post", {}).get("requestBody", {}).get("content", {})
    )


def test_json_post_operations_are_found():
    operations = set(_json_post_operations())
    assert {"/api/worker/runs/{run_id}/events/", "/api/clinician/items/{token}/ratings/"} <= operations


@pytest.mark.django_db
@pytest.mark.parametrize("path", _json_post_operations())
def test_unstorable_json_is_never_a_server_error(path, researcher):
    run = TrainingRunFactory()
    status_transition(model=TrainingRun, pk=run.pk, to=Status.QUEUED)
    client = APIClient()
    if path.startswith("/api/worker/"):
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {run_token_issue(run=run)}")
    else:
        client.force_login(researcher)
    url = re.sub(r"\{(\w+)\}", lambda match: str(run.pk) if match.group(1) == "run_id" else "1", path)
    for body in UNSTORABLE_BODIES:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code < 500, (url, body[:20], response.content[:300])
