"""Launching runs: everything that cannot run is refused before anything is queued."""

from types import SimpleNamespace

import pytest

from core.models import Status
from tests.factories import TrainingRunFactory
from training_worker.launch import LaunchError, LaunchRequest, training_run_launch
from training_worker.model_picker import ModelChoice, model_choice_resolve
from training_worker.models import BaseModel, RunArtifact, TrainingRun

pytestmark = pytest.mark.django_db

THERAPEUTIC = [
    "empathy",
    "active_listening",
    "self_motivated_change",
    "trust_rapport",
    "patient_autonomy",
    "safety",
]


def snapshot(
    criteria_set: str = "therapeutic", criteria: list[str] | None = None, train_pairs: int = 8
) -> SimpleNamespace:
    """The fields of annotation.DatasetSnapshot that launching reads (`train_pairs` per criterion)."""
    criteria = criteria or THERAPEUTIC
    return SimpleNamespace(
        name="therapeutic snapshot",
        manifest={
            "criteria_set": {"key": criteria_set, "version": 1, "criteria": criteria},
            "counts": {"pairs": {key: {"train": train_pairs, "test": 2} for key in criteria}},
        },
        content_hash="c" * 64,
        archive=SimpleNamespace(name="snapshots/therapeutic.tar.gz"),
        archive_sha256="a" * 64,
    )


def reward_run(
    criterion: str, criteria_set: str = "therapeutic", status: str = Status.SUCCEEDED
) -> TrainingRun:
    run = TrainingRunFactory(
        method="reward",
        status=status,
        config={"criterion": criterion},
        result={"lineage": {"criteria_set": {"key": criteria_set}}},
    )
    RunArtifact.objects.create(
        run=run, name="model", file=f"run-artifacts/rm-{run.pk}", sha256="d" * 64, size=1
    )
    return run


def registered(path: str) -> ModelChoice:
    model = BaseModel.objects.create(name=f"model at {path}", path=path, kind=BaseModel.Kind.CAUSAL_LM)
    return ModelChoice(base_model=model)


@pytest.fixture
def base_model(tmp_path):
    path = tmp_path / "policy"
    path.mkdir()
    return str(path)


def modpo(model_dir: str, **overrides) -> LaunchRequest:
    model_dir = overrides.pop("model_path", model_dir)
    safety = overrides.pop("margin_reward_runs", None) or [reward_run("safety")]
    values = {
        "name": "MODPO empathy",
        "method": "modpo",
        "snapshot": snapshot(),
        "criterion": "empathy",
        "weights": {"empathy": 0.7, "safety": 0.3},
        "model": registered(model_dir),
        "margin_reward_runs": safety,
        "hyper": {"beta": 0.1, "max_steps": 10},
    }
    values.update(overrides)
    return LaunchRequest(**values)


def test_a_valid_modpo_launch_is_queued_with_its_inputs_and_lineage(
    researcher, base_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = training_run_launch(request=modpo(base_model), created_by=researcher)
    run.refresh_from_db()
    assert run.status == Status.QUEUED and len(callbacks) == 1
    assert run.snapshot_hash == "c" * 64
    assert run.config["margin_reward_models"] == [{"criterion": "safety", "path": "input:rm-safety/model"}]
    assert run.config["weights"] == {"empathy": 0.7, "safety": 0.3}
    assert run.config["base_model"] == base_model and run.config["criterion"] == "empathy"
    assert run.base_model.path == base_model
    assert {item.name: item.sha256 for item in run.inputs.all()} == {
        "snapshot": "a" * 64,
        "rm-safety": "d" * 64,
    }
    assert [parent.config["criterion"] for parent in run.parents.all()] == ["safety"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"weights": {"empathy": 1.2, "safety": -0.2}}, "weights", "non-negative"),
        ({"weights": {"empathy": 0.5, "safety": 0.3}}, "weights", "sum to 1"),
        ({"weights": {"empathy": 0.0, "safety": 1.0}}, "weights", "w_k > 0"),
        ({"criterion": "quantity"}, "criterion", "no 'quantity' preferences"),
        ({"model_path": "/no/such/model"}, "model", "does not exist"),
        ({"model": None}, "model", "Choose a starting model"),
        ({"snapshot": None}, "snapshot", "Choose a frozen dataset snapshot"),
        ({"hyper": {"beta": -1}}, "beta", "positive"),
    ],
)
def test_invalid_launches_are_refused_and_nothing_is_created(
    researcher, base_model, overrides, field, message
):
    with pytest.raises(LaunchError) as caught:
        training_run_launch(request=modpo(base_model, **overrides), created_by=researcher)
    assert message in caught.value.field_errors[field][0]
    assert TrainingRun.objects.filter(method="modpo").count() == 0


def test_margin_reward_model_from_another_criteria_set_is_refused(researcher, base_model):
    gricean_safety = reward_run("safety", criteria_set="gricean")
    with pytest.raises(LaunchError) as caught:
        training_run_launch(
            request=modpo(base_model, margin_reward_runs=[gricean_safety]), created_by=researcher
        )
    assert "'gricean' criteria set" in caught.value.field_errors["margin_reward_runs"][0]


def test_margin_reward_model_must_have_succeeded(researcher, base_model):
    running = reward_run("safety", status=Status.RUNNING)
    with pytest.raises(LaunchError) as caught:
        training_run_launch(request=modpo(base_model, margin_reward_runs=[running]), created_by=researcher)
    assert "has not succeeded" in caught.value.field_errors["parents"][0]


def test_margin_reward_model_of_the_primary_criterion_is_refused(researcher, base_model):
    with pytest.raises(LaunchError) as caught:
        training_run_launch(
            request=modpo(base_model, margin_reward_runs=[reward_run("empathy")], weights={"empathy": 1.0}),
            created_by=researcher,
        )
    assert "primary criterion" in caught.value.field_errors["margin_reward_runs"][0]


def test_merge_needs_two_policies_and_valid_weights(researcher):
    policy = TrainingRunFactory(method="dpo", status=Status.SUCCEEDED)
    request = LaunchRequest(name="soup", method="merge", merge_runs=[policy], hyper={"merge_weights": [1.0]})
    with pytest.raises(LaunchError) as caught:
        training_run_launch(request=request, created_by=researcher)
    assert "at least two" in caught.value.field_errors["merge_runs"][0]
    other = TrainingRunFactory(method="dpo", status=Status.SUCCEEDED)
    request = LaunchRequest(
        name="soup", method="merge", merge_runs=[policy, other], hyper={"merge_weights": [0.7, 0.7]}
    )
    with pytest.raises(LaunchError) as caught:
        training_run_launch(request=request, created_by=researcher)
    assert "sum to 1" in caught.value.field_errors["merge_weights"][0]


def test_joint_loss_needs_weights(researcher, base_model):
    request = LaunchRequest(name="joint", method="joint", snapshot=snapshot(), model=registered(base_model))
    with pytest.raises(LaunchError) as caught:
        training_run_launch(request=request, created_by=researcher)
    assert "weight per criterion" in caught.value.field_errors["weights"][0]


def test_joint_loss_batch_must_balance_its_criteria(researcher, base_model):
    """Checked by the ML package's own config class, so the worker would refuse nothing the web accepted."""
    request = LaunchRequest(
        name="joint",
        method="joint",
        snapshot=snapshot(),
        model=registered(base_model),
        weights={"empathy": 0.5, "safety": 0.3, "trust_rapport": 0.2},
        hyper={"per_device_train_batch_size": 8},
    )
    with pytest.raises(LaunchError) as caught:
        training_run_launch(request=request, created_by=researcher)
    message = caught.value.field_errors["per_device_train_batch_size"][0]
    assert "must be a multiple of the number of criteria" in message


def test_dpo_from_a_trained_sft_policy_references_its_adapter(researcher, django_capture_on_commit_callbacks):
    sft = TrainingRunFactory(method="sft", status=Status.SUCCEEDED)
    RunArtifact.objects.create(run=sft, name="adapter", file="run-artifacts/sft", sha256="e" * 64, size=1)
    request = LaunchRequest(
        name="DPO empathy",
        method="dpo",
        snapshot=snapshot(),
        criterion="empathy",
        model=model_choice_resolve(f"run:{sft.pk}"),
    )
    with django_capture_on_commit_callbacks(execute=False):
        run = training_run_launch(request=request, created_by=researcher)
    assert run.config["base_model"] == "input:policy/adapter"
    assert run.config["parent_runs"] == [{"run": sft.pk, "sha256": "e" * 64}]
    assert run.inputs.get(name="policy").sha256 == "e" * 64
    assert list(run.parents.all()) == [sft] and run.base_model is None
