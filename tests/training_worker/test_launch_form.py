"""A researcher launches runs from the form on a real frozen snapshot (the annotation demo's)."""

import pytest
from django.core.management import call_command
from django.test import Client

from annotation.models import DatasetSnapshot
from core.models import Status
from tests.factories import TrainingRunFactory
from training_worker.models import BaseModel, RunArtifact, TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot():
    call_command("annotation_demo")
    return DatasetSnapshot.objects.get()


@pytest.fixture
def researcher_client(researcher) -> Client:
    client = Client()
    client.force_login(researcher)
    return client


def test_form_queues_a_reward_model_on_the_snapshot(
    researcher_client, snapshot, django_capture_on_commit_callbacks
):
    page = researcher_client.get("/runs/launch/")
    assert page.status_code == 200 and snapshot.name in page.content.decode()
    form = {
        "name": "RM safety",
        "method": "reward",
        "snapshot": snapshot.pk,
        "criterion": "safety",
        "backbone": "minilm",
        "max_steps": 20,
        "learning_rate": 5e-5,
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = researcher_client.post("/runs/launch/", form)
    run = TrainingRun.objects.get(name="RM safety")
    assert response.status_code == 302 and response.url == f"/runs/{run.pk}/"
    assert run.status == Status.QUEUED and len(callbacks) == 1
    assert run.snapshot_hash == snapshot.content_hash
    assert run.config == {"criterion": "safety", "backbone": "minilm", "max_steps": 20, "learning_rate": 5e-5}
    assert run.inputs.get(name="snapshot").sha256 == snapshot.archive_sha256


def test_form_shows_why_a_run_cannot_start(researcher_client, snapshot):
    moved = BaseModel.objects.create(name="Moved away", path="/nowhere/model")
    form = {
        "name": "DPO",
        "method": "dpo",
        "snapshot": snapshot.pk,
        "criterion": "quantity",
        "model": f"base:{moved.pk}",
        "beta": 0.1,
    }
    response = researcher_client.post("/runs/launch/", form)
    page = response.content.decode()
    assert response.status_code == 200
    assert "no &#x27;quantity&#x27; preferences" in page and "does not exist" in page
    assert not TrainingRun.objects.exists()
    # A typed value that is not a picker choice ("Run 5") is refused with a reason, not queued.
    response = researcher_client.post("/runs/launch/", {**form, "criterion": "safety", "model": "Run 5"})
    assert "Choose a registered base model" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_the_picker_offers_registered_models_and_succeeded_policies(researcher_client, snapshot):
    base = BaseModel.objects.create(name="Tiny base", path="/models/tiny")
    policy = TrainingRunFactory(
        method="modpo",
        name="MODPO survey",
        status=Status.SUCCEEDED,
        config={"criterion": "empathy", "weights": {"empathy": 0.6, "safety": 0.4}},
        snapshot_hash="abcdef12" * 8,
    )
    RunArtifact.objects.create(run=policy, name="adapter", file="run-artifacts/a", sha256="a" * 64, size=1)
    unfinished = TrainingRunFactory(method="dpo", name="DPO still running", status=Status.RUNNING)
    no_policy = TrainingRunFactory(method="sft", name="SFT without artifact", status=Status.SUCCEEDED)
    page = researcher_client.get(f"/runs/launch/?model=run:{policy.pk}").content.decode()
    assert f'value="base:{base.pk}"' in page and "Tiny base (/models/tiny)" in page
    expected = (
        f"#{policy.pk} MODPO \u201cMODPO survey\u201d \u00b7 empathy \u00b7 weights empathy 0.6, "
        "safety 0.4 \u00b7 snapshot abcdef12"
    )
    assert f'<option value="run:{policy.pk}" selected>{expected}</option>' in page
    assert f"run:{unfinished.pk}" not in page and f"run:{no_policy.pk}" not in page


def test_joint_weights_come_from_a_survey_weight_set(
    researcher_client, snapshot, tmp_path, django_capture_on_commit_callbacks
):
    call_command("survey_demo")
    from survey_app.models import ObjectiveWeightSet

    base = BaseModel.objects.create(name="Base", path=str(tmp_path))
    weight_set = ObjectiveWeightSet.objects.filter(scope="population").first()
    form = {
        "name": "Joint",
        "method": "joint",
        "snapshot": snapshot.pk,
        "model": f"base:{base.pk}",
        "weight_set": weight_set.pk,
        "beta": 0.1,
        # Balanced joint-loss batches hold the same number of pairs of each of the snapshot's 6 criteria.
        "per_device_train_batch_size": 6,
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = researcher_client.post("/runs/launch/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    weights = TrainingRun.objects.get(name="Joint").config["criteria_weights"]
    assert set(weights) <= set(snapshot.manifest["criteria_set"]["criteria"])
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights.get("safety", 0) >= weight_set.safety_floor - 1e-9
