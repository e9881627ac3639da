"""The launch API: researchers only, 400 with field errors for anything that cannot run."""

import pytest

from core.models import Status
from tests.factories import TrainingRunFactory
from training_worker.models import RunArtifact, TrainingRun

pytestmark = pytest.mark.django_db


def trained_policy() -> TrainingRun:
    run = TrainingRunFactory(method="dpo", status=Status.SUCCEEDED)
    RunArtifact.objects.create(
        run=run, name="adapter", file=f"run-artifacts/a-{run.pk}", sha256="f" * 64, size=1
    )
    return run


def test_researcher_launches_a_merge(researcher_api, django_capture_on_commit_callbacks):
    first, second = trained_policy(), trained_policy()
    body = {
        "name": "DPO soup",
        "method": "merge",
        "merge_runs": [first.pk, second.pk],
        "merge_method": "linear",
        "hyper": {"merge_weights": [0.5, 0.5]},
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = researcher_api.post("/api/runs/launch/", body, format="json")
    assert response.status_code == 201, response.json()
    run = TrainingRun.objects.get(pk=response.json()["id"])
    assert run.status == Status.QUEUED and len(callbacks) == 1
    assert run.config == {
        "method": "linear",
        "models": ["input:model-0/adapter", "input:model-1/adapter"],
        "weights": [0.5, 0.5],
    }
    assert set(run.parents.values_list("pk", flat=True)) == {first.pk, second.pk}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "method": "dpo", "snapshot": "0" * 64, "criterion": "empathy"}, "snapshot"),
        ({"name": "x", "method": "dpo", "hyper": {"gamma": 1}}, "hyper"),
        ({"name": "x", "method": "dpo", "hyper": {"beta": "high"}}, "hyper"),
        ({"name": "x", "method": "merge", "merge_runs": [999999]}, "merge_runs"),
        ({"name": "x", "method": "teleport"}, "method"),
        ({"name": "x", "method": "merge", "color": "red"}, "color"),
    ],
)
def test_bad_launches_get_field_errors(researcher_api, body, field):
    response = researcher_api.post("/api/runs/launch/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not TrainingRun.objects.filter(name="x").exists()


def test_clinicians_cannot_launch(clinician_api):
    response = clinician_api.post("/api/runs/launch/", {"name": "x", "method": "merge"}, format="json")
    assert response.status_code == 403
