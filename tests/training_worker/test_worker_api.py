"""The worker API: per-run token scoping, idempotent posts, and the run's single result."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import AuditEvent, Status
from core.services import status_transition
from tests.factories import TrainingRunFactory
from training_worker.models import RunArtifact, RunEvent, RunToken, TrainingRun
from training_worker.services import run_token_issue

pytestmark = pytest.mark.django_db


def queued_run_with_token() -> tuple[TrainingRun, str]:
    run = TrainingRunFactory()
    status_transition(model=TrainingRun, pk=run.pk, to=Status.QUEUED)
    return run, run_token_issue(run=run)


def worker(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_token_reads_its_own_run_spec():
    run, token = queued_run_with_token()
    response = worker(token).get(f"/api/worker/runs/{run.pk}/spec/")
    assert response.status_code == 200
    assert response.json()["method"] == "dpo"
    assert response.json()["config"] == {"criterion": "empathy", "beta": 0.1}


def test_token_for_one_run_is_rejected_on_another():
    _, token = queued_run_with_token()
    other, _ = queued_run_with_token()
    assert worker(token).get(f"/api/worker/runs/{other.pk}/spec/").status_code == 403
    assert worker(token).post(f"/api/worker/runs/{other.pk}/start/").status_code == 403
    assert TrainingRun.objects.get(pk=other.pk).status == Status.QUEUED


def test_expired_token_is_rejected():
    run, token = queued_run_with_token()
    RunToken.objects.filter(run=run).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = worker(token).get(f"/api/worker/runs/{run.pk}/spec/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_missing_or_unknown_token_is_rejected(researcher_api):
    run, _ = queued_run_with_token()
    assert APIClient().get(f"/api/worker/runs/{run.pk}/spec/").status_code in (401, 403)
    assert worker("not-a-token").get(f"/api/worker/runs/{run.pk}/spec/").status_code == 401
    # A signed-in researcher is not a worker: session auth is not accepted on worker endpoints.
    assert researcher_api.get(f"/api/worker/runs/{run.pk}/spec/").status_code in (401, 403)


def test_start_moves_queued_to_running_and_redelivery_resumes_once_the_holder_is_silent(settings):
    run, token = queued_run_with_token()
    first = worker(token).post(f"/api/worker/runs/{run.pk}/start/")
    assert first.status_code == 200 and first.json()["attempts"] == 1
    assert first.json()["heartbeat_interval_s"] == settings.WORK_HEARTBEAT_INTERVAL_S
    busy = worker(token).post(f"/api/worker/runs/{run.pk}/start/")
    assert busy.status_code == 409, "a second delivery while the first worker is alive must not run it too"
    assert 1 <= int(busy["Retry-After"]) <= settings.WORK_STALE_AFTER_S + 1
    silent_since = timezone.now() - timedelta(seconds=settings.WORK_STALE_AFTER_S + 1)
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=silent_since)
    again = worker(token).post(f"/api/worker/runs/{run.pk}/start/")
    assert again.status_code == 200 and again.json()["attempts"] == 2
    assert TrainingRun.objects.get(pk=run.pk).status == Status.RUNNING


def test_heartbeats_keep_a_run_alive_and_are_refused_once_it_ended():
    run, token = queued_run_with_token()
    client = worker(token)
    client.post(f"/api/worker/runs/{run.pk}/start/")
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert client.post(f"/api/worker/runs/{run.pk}/heartbeat/").status_code == 200
    beat = TrainingRun.objects.get(pk=run.pk).heartbeat_at
    assert timezone.now() - beat < timedelta(seconds=5)
    TrainingRun.objects.filter(pk=run.pk).update(status=Status.CANCELLED)
    refused = client.post(f"/api/worker/runs/{run.pk}/heartbeat/")
    assert refused.status_code == 403 and "ended" in refused.json()["detail"]


def test_repeated_event_is_stored_once_and_updates_progress():
    run, token = queued_run_with_token()
    client = worker(token)
    client.post(f"/api/worker/runs/{run.pk}/start/")
    body = {"event_id": "step-10", "step": 10, "total_steps": 40, "metrics": {"loss": 0.61}}
    assert client.post(f"/api/worker/runs/{run.pk}/events/", body, format="json").status_code == 201
    repeat = client.post(f"/api/worker/runs/{run.pk}/events/", body, format="json")
    assert repeat.status_code == 200 and repeat.json()["created"] is False
    assert RunEvent.objects.filter(run=run).count() == 1
    run.refresh_from_db()
    assert (run.step, run.total_steps, run.last_metrics) == (10, 40, {"loss": 0.61})


def test_replayed_result_is_not_duplicated_and_a_different_one_conflicts():
    run, token = queued_run_with_token()
    client = worker(token)
    client.post(f"/api/worker/runs/{run.pk}/start/")
    result = {"status": "succeeded", "metrics": {"eval_accuracy": 0.93}, "code_version": "abc"}
    first = client.post(f"/api/worker/runs/{run.pk}/result/", result, format="json")
    assert first.status_code == 201
    replay = client.post(f"/api/worker/runs/{run.pk}/result/", result, format="json")
    assert replay.status_code == 200 and replay.json()["created"] is False
    different = client.post(
        f"/api/worker/runs/{run.pk}/result/", {"status": "failed", "error": "boom"}, format="json"
    )
    assert different.status_code == 409
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.result == {"eval_accuracy": 0.93}
    # The run has ended: progress posts are refused, and after the grace period the token is dead.
    late = client.post(f"/api/worker/runs/{run.pk}/events/", {"event_id": "x", "step": 1}, format="json")
    assert late.status_code == 403
    RunToken.objects.filter(run=run).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(f"/api/worker/runs/{run.pk}/result/", result, format="json").status_code == 401


def test_artifact_upload_is_idempotent_and_checked():
    run, token = queued_run_with_token()
    client = worker(token)
    client.post(f"/api/worker/runs/{run.pk}/start/")
    payload = b"adapter weights"
    digest = hashlib.sha256(payload).hexdigest()

    def upload(content: bytes, sha: str):
        file = SimpleUploadedFile("adapter.safetensors", content)
        return client.post(
            f"/api/worker/runs/{run.pk}/artifacts/", {"name": "adapter", "sha256": sha, "file": file}
        )

    assert upload(payload, digest).status_code == 201
    assert upload(payload, digest).status_code == 200
    tampered = upload(b"tampered", digest)
    assert tampered.status_code == 400 and "mismatch" in tampered.json()["sha256"][0]
    other = b"other weights"
    changed = upload(other, hashlib.sha256(other).hexdigest())
    assert changed.status_code == 409 and "already exists" in changed.json()["detail"]
    artifact = RunArtifact.objects.get(run=run)
    assert artifact.size == len(payload) and artifact.file.read() == payload


def test_cancelled_run_refuses_worker_posts(researcher):
    from training_worker.services import training_run_cancel

    run, token = queued_run_with_token()
    client = worker(token)
    client.post(f"/api/worker/runs/{run.pk}/start/")
    assert training_run_cancel(run=run, actor=researcher)
    response = client.post(f"/api/worker/runs/{run.pk}/events/", {"event_id": "a", "step": 2}, format="json")
    assert response.status_code == 403 and "ended" in response.json()["detail"]
    cancelled = client.post(f"/api/worker/runs/{run.pk}/result/", {"status": "cancelled"}, format="json")
    assert cancelled.status_code == 200


def test_result_for_a_run_never_started_conflicts_and_records_nothing():
    run, token = queued_run_with_token()
    result = {"status": "succeeded", "metrics": {"eval_accuracy": 0.93}}
    response = worker(token).post(f"/api/worker/runs/{run.pk}/result/", result, format="json")
    assert response.status_code == 409 and "claim it" in response.json()["detail"]
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.result == {}
    assert not AuditEvent.objects.filter(action="training_run.succeeded").exists()


def test_artifact_over_the_size_limit_is_refused(settings):
    settings.ARTIFACT_MAX_BYTES = 1000
    run, token = queued_run_with_token()
    client = worker(token)
    client.post(f"/api/worker/runs/{run.pk}/start/")

    def upload(content: bytes):
        file = SimpleUploadedFile("adapter.safetensors", content)
        sha = hashlib.sha256(content).hexdigest()
        return client.post(
            f"/api/worker/runs/{run.pk}/artifacts/", {"name": "adapter", "sha256": sha, "file": file}
        )

    for size in (1001, 200_000):  # refused by the file's size, and by the body's declared length
        response = upload(b"x" * size)
        assert response.status_code == 413 and "limited to 1000 bytes" in response.json()["detail"]
    assert not RunArtifact.objects.exists()
    assert upload(b"x" * 1000).status_code == 201
