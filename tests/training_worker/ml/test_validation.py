"""Configuration mistakes fail fast with ValueError, before any model is loaded or trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from training_worker.ml.configs import (
    DPORunConfig,
    GenerationRunConfig,
    JointRunConfig,
    MergeRunConfig,
    MODPORunConfig,
    RewardRunConfig,
    SFTRunConfig,
    config_from_dict,
)
from training_worker.ml.dpo import run_dpo
from training_worker.ml.joint import run_joint
from training_worker.ml.modpo import run_modpo


def _modpo(**overrides: object) -> MODPORunConfig:
    fields = {
        "base_model": "policy",
        "criterion": "empathy",
        "margin_reward_models": [{"criterion": "safety", "path": "rm"}],
        "weights": {"empathy": 0.7, "safety": 0.3},
    }
    return MODPORunConfig(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weights": {"empathy": 1.2, "safety": -0.2}}, "non-negative"),
        ({"weights": {"empathy": 0.5, "safety": 0.3}}, "sum to 1"),
        ({"weights": {"empathy": 0.0, "safety": 1.0}}, "w_k must be positive"),
        ({"weights": {"empathy": 0.5, "trust_rapport": 0.5}}, "cover exactly"),
        ({"weights": {"empathy": float("nan"), "safety": 0.3}}, "finite"),
        ({"margin_reward_models": []}, "at least one margin reward model"),
        ({"margin_reward_models": [{"criterion": "empathy", "path": "rm"}]}, "other criteria"),
        ({"beta": 0.0}, "beta"),
        ({"base_model": ""}, "base_model"),
        ({"max_steps": 0}, "max_steps"),
        ({"precision": "fp8"}, "precision"),
    ],
)
def test_modpo_config_validation(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _modpo(**overrides)


def test_modpo_weights_within_tolerance_are_accepted() -> None:
    config = _modpo(weights={"empathy": 0.7, "safety": 0.3 + 1e-9})
    assert config.weights is not None


def test_missing_base_model_path_fails_before_training(snapshot_dir: Path, tmp_path: Path) -> None:
    config = DPORunConfig(base_model=str(tmp_path / "nowhere"), criterion="empathy", max_steps=1)
    with pytest.raises(ValueError, match=r"base_model .* does not exist"):
        run_dpo(config, snapshot_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_criterion_fails_before_training(tiny_lm: Path, snapshot_dir: Path, tmp_path: Path) -> None:
    config = DPORunConfig(base_model=str(tiny_lm), criterion="quantity", max_steps=1)
    with pytest.raises(ValueError, match="'quantity' is not in snapshot"):
        run_dpo(config, snapshot_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_modpo_primary_criterion_must_be_in_snapshot(
    tiny_lm: Path, snapshot_dir: Path, safety_reward_model: Path, tmp_path: Path
) -> None:
    config = _modpo(
        base_model=str(tiny_lm),
        criterion="manner",
        margin_reward_models=[{"criterion": "safety", "path": str(safety_reward_model)}],
        weights={"manner": 0.5, "safety": 0.5},
    )
    with pytest.raises(ValueError, match="'manner' is not in snapshot"):
        run_modpo(config, snapshot_dir, tmp_path / "out")


def test_modpo_rejects_reward_model_from_another_criteria_set(
    tiny_lm: Path, snapshot_dir: Path, gricean_safety_reward_model: Path, tmp_path: Path
) -> None:
    """`safety` exists in both sets, but a gricean-trained reward model must not steer a therapeutic run."""
    config = _modpo(
        base_model=str(tiny_lm),
        margin_reward_models=[{"criterion": "safety", "path": str(gricean_safety_reward_model)}],
    )
    with pytest.raises(ValueError, match="trained on criteria set 'gricean'"):
        run_modpo(config, snapshot_dir, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_modpo_rejects_margin_criterion_outside_snapshot(
    tiny_lm: Path, snapshot_dir: Path, gricean_safety_reward_model: Path, tmp_path: Path
) -> None:
    config = _modpo(
        base_model=str(tiny_lm),
        margin_reward_models=[{"criterion": "quantity", "path": str(gricean_safety_reward_model)}],
        weights={"empathy": 0.7, "quantity": 0.3},
    )
    with pytest.raises(ValueError, match="'quantity' is not in the snapshot's criteria set"):
        run_modpo(config, snapshot_dir, tmp_path / "out")


def test_modpo_rejects_reward_model_scoring_another_criterion(
    tiny_lm: Path, snapshot_dir: Path, safety_reward_model: Path, tmp_path: Path
) -> None:
    config = _modpo(
        base_model=str(tiny_lm),
        margin_reward_models=[{"criterion": "trust_rapport", "path": str(safety_reward_model)}],
        weights={"empathy": 0.7, "trust_rapport": 0.3},
    )
    with pytest.raises(ValueError, match="scores 'safety'"):
        run_modpo(config, snapshot_dir, tmp_path / "out")


def test_modpo_rejects_missing_reward_model_path(tiny_lm: Path, snapshot_dir: Path, tmp_path: Path) -> None:
    config = _modpo(base_model=str(tiny_lm), margin_reward_models=[{"criterion": "safety", "path": "gone"}])
    with pytest.raises(ValueError, match="margin reward model for 'safety'"):
        run_modpo(config, snapshot_dir, tmp_path / "out")


def test_modpo_defaults_to_snapshot_weights_renormalised(snapshot_dir: Path) -> None:
    from training_worker.ml.snapshot import load_snapshot

    snapshot = load_snapshot(snapshot_dir)
    weights = _modpo(weights=None).resolved_weights(snapshot)
    survey = snapshot.objective_weights
    total = survey["empathy"] + survey["safety"]
    assert weights == pytest.approx(
        {"empathy": survey["empathy"] / total, "safety": survey["safety"] / total}
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"models": ["a"]}, "at least two"),
        ({"models": ["a", "b"], "weights": [0.5, 0.6]}, "sum to 1"),
        ({"models": ["a", "b"], "weights": [-0.5, 1.5]}, "non-negative"),
        ({"models": ["a", "b"], "weights": [1.0]}, "1 weights for 2 models"),
        ({"models": ["a", "b"], "method": "slerp", "t": 1.5}, r"t must be in \[0, 1\]"),
        ({"models": ["a", "b"], "method": "slerp", "t": -0.1}, r"t must be in \[0, 1\]"),
        ({"models": ["a", "b", "c"], "method": "slerp"}, "exactly two"),
        ({"models": ["a", "b"], "method": "ties"}, "method must be one of"),
    ],
)
def test_merge_config_validation(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MergeRunConfig(**config)


@pytest.mark.parametrize(
    ("cls", "fields", "message"),
    [
        (JointRunConfig, {"criteria_weights": {"empathy": 0.6, "safety": 0.6}}, "sum to 1"),
        (JointRunConfig, {"criteria_weights": {"empathy": -0.5, "safety": 1.5}}, "non-negative"),
        (
            JointRunConfig,
            {"criteria_weights": {"a": 0.4, "b": 0.3, "c": 0.3}, "per_device_train_batch_size": 8},
            "multiple",
        ),
        (SFTRunConfig, {"criteria": []}, "at least one criterion"),
        (DPORunConfig, {"criterion": "empathy", "load_in_4bit": True, "use_lora": False}, "use_lora"),
        (DPORunConfig, {"criterion": "empathy", "lora_dropout": 1.0}, "lora_dropout"),
    ],
)
def test_policy_config_validation(cls: type, fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls(base_model="policy", **fields)


def test_joint_missing_criterion_fails_before_training(
    tiny_lm: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    config = JointRunConfig(
        base_model=str(tiny_lm),
        criteria_weights={"empathy": 0.5, "relation": 0.5},
        per_device_train_batch_size=2,
    )
    with pytest.raises(ValueError, match="'relation' is not in snapshot"):
        run_joint(config, snapshot_dir, tmp_path / "out")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": 0.0, "num_responses": 3}, "Greedy"),
        ({"split": "validation"}, "split"),
        ({"num_responses": 0}, "num_responses"),
    ],
)
def test_generation_config_validation(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GenerationRunConfig(policy="policy", **fields)


def test_config_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="Unknown RewardRunConfig field"):
        config_from_dict(RewardRunConfig, {"criterion": "empathy", "learning_rat": 1e-4})


def test_config_from_dict_builds_nested_margin_models() -> None:
    config = config_from_dict(
        MODPORunConfig,
        {
            "base_model": "p",
            "criterion": "empathy",
            "margin_reward_models": [{"criterion": "safety", "path": "rm"}],
            "weights": {"empathy": 0.5, "safety": 0.5},
        },
    )
    assert config.margin_reward_models[0].criterion == "safety"
