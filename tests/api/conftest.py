"""Fixtures of the API's bad-input tests."""

import pytest
from rest_framework.test import APIClient

from core.models import Status
from core.services import status_transition
from tests.factories import TrainingRunFactory
from training_worker.models import TrainingRun
from training_worker.services import run_token_issue


@pytest.fixture
def worker_client():
    """A run a worker has claimed (RUNNING), and an API client holding that run's token."""
    run = TrainingRunFactory()
    status_transition(model=TrainingRun, pk=run.pk, to=Status.QUEUED)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {run_token_issue(run=run)}")
    client.post(f"/api/worker/runs/{run.pk}/start/")
    return client, run
