"""Bad input gets 400 with field errors (or 401/403 for the wrong caller), never a 500."""

import pytest
from rest_framework.test import APIClient

from core.models import Status
from training_worker.models import RunEvent, TrainingRun

pytestmark = pytest.mark.django_db


def test_malformed_json(worker_client):
    client, run = worker_client
    response = client.post(f"/api/worker/runs/{run.pk}/events/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_id": "a", "step": "ten"}, "step"),
        ({"event_id": "a", "step": -1}, "step"),
        ({"step": 1}, "event_id"),
        ({"event_id": "a", "step": 1, "metrics": [1, 2]}, "metrics"),
        ({"event_id": "a", "step": 1, "metrics": {"loss": {"nested": 1}}}, "metrics"),
        ({"event_id": "a", "step": 1, "surprise": True}, "surprise"),
    ],
)
def test_wrong_types_and_unknown_fields(worker_client, body, field):
    client, run = worker_client
    response = client.post(f"/api/worker/runs/{run.pk}/events/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not RunEvent.objects.exists()


def test_a_json_array_instead_of_an_object(worker_client):
    client, run = worker_client
    response = client.post(f"/api/worker/runs/{run.pk}/events/", [1, 2], format="json")
    assert response.status_code == 400


def test_oversized_body(worker_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client, run = worker_client
    body = {"event_id": "a", "step": 1, "metrics": {"note": "x" * 20_000}}
    response = client.post(f"/api/worker/runs/{run.pk}/events/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "body_too_large"


def test_result_with_an_unknown_status(worker_client):
    client, run = worker_client
    response = client.post(f"/api/worker/runs/{run.pk}/result/", {"status": "exploded"}, format="json")
    assert response.status_code == 400 and "status" in response.json()
    assert TrainingRun.objects.get(pk=run.pk).status == Status.RUNNING


def test_run_that_does_not_exist(worker_client):
    client, _ = worker_client
    assert client.get("/api/worker/runs/999999/spec/").status_code == 403


def test_malformed_authorization_header():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer a b c")
    assert client.get("/api/worker/runs/1/spec/").status_code == 401
