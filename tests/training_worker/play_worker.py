"""Play the GPU worker through the real worker API with a fresh run token: claim, upload, post the result."""

import hashlib
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from training_worker.models import TrainingRun
from training_worker.services import run_token_issue


def worker_client(run: TrainingRun) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {run_token_issue(run=run)}")
    return client


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def worker_finish(
    run: TrainingRun,
    *,
    artifacts: dict[str, bytes] | None = None,
    status: str = "succeeded",
    metrics: dict | None = None,
    error: str = "",
    client: APIClient | None = None,
) -> APIClient:
    """Claim the run, upload each artifact (sha256 declared), post the result; asserts every post worked."""
    client = client or worker_client(run)
    assert client.post(f"/api/worker/runs/{run.pk}/start/").status_code == 200
    for name, content in (artifacts or {}).items():
        upload = SimpleUploadedFile(name, content)
        sha256 = hashlib.sha256(content).hexdigest()
        response = client.post(
            f"/api/worker/runs/{run.pk}/artifacts/", {"name": name, "sha256": sha256, "file": upload}
        )
        assert response.status_code == 201, response.content
    body = {"status": status, "metrics": metrics or {}, "error": error}
    response = client.post(f"/api/worker/runs/{run.pk}/result/", body, format="json")
    assert response.status_code == 201, response.content
    return client
