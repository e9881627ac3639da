"""A run is never launched on a snapshot criterion without training pairs: the form and the API refuse it
with a field error, so the worker never gets an empty training set."""

import pytest
from django.test import Client

from annotation.services.snapshots import snapshot_freeze, snapshot_spec_build
from training_worker.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_sided(judged, response_set, mini_criteria, researcher):
    """A snapshot whose judges agree on empathy (one train pair) and cancel out on safety (no pair)."""
    judge_job, _ = judged
    spec = snapshot_spec_build(response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job])
    snapshot, _ = snapshot_freeze(name="one-sided", spec=spec, created_by=researcher)
    assert snapshot.manifest["counts"]["pairs"]["safety"] == {"train": 0, "test": 0}
    assert snapshot.manifest["counts"]["pairs"]["empathy"]["train"] == 1
    return snapshot


def reward_form(snapshot, criterion: str) -> dict:
    return {
        "name": f"RM {criterion}",
        "method": "reward",
        "snapshot": snapshot.pk,
        "criterion": criterion,
        "backbone": "minilm",
        "max_steps": 5,
    }


def test_the_form_refuses_a_criterion_without_training_pairs(
    researcher, one_sided, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(researcher)
    refused = client.post("/runs/launch/", reward_form(one_sided, "safety"))
    assert "has no training pairs for &#x27;safety&#x27;" in refused.content.decode()
    assert not TrainingRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        accepted = client.post("/runs/launch/", reward_form(one_sided, "empathy"))
    assert accepted.status_code == 302 and TrainingRun.objects.get().name == "RM empathy"


def test_the_api_refuses_a_criterion_without_training_pairs(researcher_api, one_sided):
    body = {
        "name": "RM safety",
        "method": "reward",
        "snapshot": one_sided.content_hash,
        "criterion": "safety",
        "hyper": {"backbone": "minilm", "max_steps": 5},
    }
    response = researcher_api.post("/api/runs/launch/", body, format="json")
    assert response.status_code == 400
    assert "no training pairs for 'safety'" in " ".join(response.json()["criterion"])
    assert not TrainingRun.objects.exists()


def test_joint_loss_refuses_a_weighted_criterion_without_training_pairs(researcher_api, one_sided):
    body = {
        "name": "Joint",
        "method": "joint",
        "snapshot": one_sided.content_hash,
        "weights": {"empathy": 0.5, "safety": 0.5},
        "hyper": {"max_steps": 5},
    }
    response = researcher_api.post("/api/runs/launch/", body, format="json")
    assert response.status_code == 400
    assert "no training pairs for 'safety'" in " ".join(response.json()["weights"])
