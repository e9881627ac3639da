"""Held-out metrics of the DPO family: exact per-pair means per criterion, and the weighted joint objective.

Each run evaluates with a small eval batch (3 pairs), so the 4 test pairs of a criterion come in ragged
batches of 3 and 1; the expected values come from TRL's own evaluation of the loaded policy in one batch
holding every pair, where a batch mean is the mean over pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from trl import DPOConfig, DPOTrainer

from training_worker.ml.configs import DPORunConfig, JointRunConfig, MODPORunConfig
from training_worker.ml.dpo import run_dpo
from training_worker.ml.joint import run_joint
from training_worker.ml.modpo import run_modpo
from training_worker.ml.runtime import load_causal_lm, load_tokenizer
from training_worker.ml.snapshot import load_snapshot, preference_dataset

pytestmark = pytest.mark.slow

BETA = 0.1
RUN = {
    "max_steps": 2,
    "learning_rate": 1e-2,
    "beta": BETA,
    "log_every_steps": 1,
    "checkpoint_every_steps": 100,
    "max_length": 256,
    "per_device_train_batch_size": 4,
    "per_device_eval_batch_size": 3,
    "precision": "fp32",
}


def _one_batch_evaluation(
    policy: str, reference: Path, snapshot_dir: Path, criterion: str, tmp_path: Path
) -> dict[str, float]:
    """TRL's DPO evaluation of `policy` against `reference` on a criterion's test pairs, all in one batch."""
    tokenizer = load_tokenizer(reference)
    pairs = load_snapshot(snapshot_dir).pairs(criterion, "test")
    dataset = preference_dataset(pairs, conversational=tokenizer.chat_template is not None)
    trainer = DPOTrainer(
        model=load_causal_lm(policy),
        ref_model=load_causal_lm(reference),
        args=DPOConfig(
            output_dir=str(tmp_path / f"eval-{criterion}"),
            per_device_eval_batch_size=len(pairs),
            beta=BETA,
            max_length=256,
            bf16=False,
            use_cpu=True,
            report_to="none",
            prediction_loss_only=True,
        ),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    held_out = trainer.evaluate(eval_dataset=dataset)
    return {
        "loss": held_out["eval_loss"],
        "reward_accuracy": held_out["eval_rewards/accuracies"],
        "reward_margin": held_out["eval_rewards/margins"],
        "pairs": len(pairs),
    }


def test_dpo_reports_exact_held_out_accuracy_and_margin(
    tiny_lm: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    result = run_dpo(
        DPORunConfig(base_model=str(tiny_lm), criterion="empathy", **RUN), snapshot_dir, tmp_path
    )
    metrics = result["metrics"]
    expected = _one_batch_evaluation(
        result["artifacts"]["adapter"], tiny_lm, snapshot_dir, "empathy", tmp_path
    )
    assert expected["pairs"] == metrics["test/empathy/pairs"] == 4
    for key in ("loss", "reward_accuracy", "reward_margin"):
        assert metrics[f"test/empathy/{key}"] == pytest.approx(expected[key], abs=1e-5), key
    assert metrics["test/loss"] == metrics["test/empathy/loss"]
    assert metrics["test/reward_accuracy"] == metrics["test/empathy/reward_accuracy"]
    assert metrics["test/reward_margin"] == metrics["test/empathy/reward_margin"]
    assert not any(key.startswith("test_") for key in metrics), "old batch-averaged keys are gone"


def test_joint_reports_the_weighted_objective_and_per_criterion_losses(
    tiny_lm: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    weights = {"empathy": 0.8, "safety": 0.2}
    config = JointRunConfig(base_model=str(tiny_lm), criteria_weights=weights, **RUN)
    result = run_joint(config, snapshot_dir, tmp_path)
    metrics = result["metrics"]
    adapter = result["artifacts"]["adapter"]
    expected = {c: _one_batch_evaluation(adapter, tiny_lm, snapshot_dir, c, tmp_path) for c in weights}
    for criterion, values in expected.items():
        for key in ("loss", "reward_accuracy", "reward_margin"):
            assert metrics[f"test/{criterion}/{key}"] == pytest.approx(values[key], abs=1e-5), (
                criterion,
                key,
            )
    objective = 0.8 * expected["empathy"]["loss"] + 0.2 * expected["safety"]["loss"]
    pooled = sum(v["loss"] * v["pairs"] for v in expected.values()) / sum(
        v["pairs"] for v in expected.values()
    )
    print(
        f"joint test loss: reported {metrics['test/loss']:.4f}, "
        f"sum w_c L_c {objective:.4f}, pooled {pooled:.4f}"
    )
    assert metrics["test/loss"] == pytest.approx(objective, abs=1e-5)
    # The unweighted loss over the concatenated test set (what was reported before) is another number.
    assert abs(objective - pooled) > 1e-4


def test_modpo_reports_its_primary_criterion(
    tiny_lm: Path, safety_reward_model: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    config = MODPORunConfig(
        base_model=str(tiny_lm),
        criterion="empathy",
        margin_reward_models=[{"criterion": "safety", "path": str(safety_reward_model)}],
        weights={"empathy": 0.7, "safety": 0.3},
        **RUN,
    )
    metrics: dict[str, Any] = run_modpo(config, snapshot_dir, tmp_path)["metrics"]
    assert metrics["test/empathy/pairs"] == 4
    assert 0.0 <= metrics["test/empathy/reward_accuracy"] <= 1.0
    assert metrics["test/reward_accuracy"] == metrics["test/empathy/reward_accuracy"]
    assert metrics["test/reward_margin"] == metrics["test/empathy/reward_margin"]
    assert metrics["test/loss"] == metrics["test/empathy/loss"] > 0
    assert not any(key.startswith("test/safety") for key in metrics), "safety enters through margins only"
