"""Every training method runs end to end on CPU: cancel mid-run, resume from the checkpoint, finish.

One scenario per method covers what a worker relies on: progress reports with a logged loss, cancellation
at a step boundary with a resumable checkpoint, resumption that continues the step count, periodic
checkpoints, parameters that actually changed, artifacts on disk and a result with lineage.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from tests.training_worker.ml.helpers import RecordingCallbacks
from training_worker.ml import __version__
from training_worker.ml.configs import (
    DPORunConfig,
    JointRunConfig,
    MODPORunConfig,
    RewardRunConfig,
    SFTRunConfig,
)
from training_worker.ml.dpo import run_dpo
from training_worker.ml.joint import run_joint
from training_worker.ml.modpo import run_modpo
from training_worker.ml.reward import run_reward
from training_worker.ml.sft import run_sft
from training_worker.ml.snapshot import load_snapshot

# Four steps; the first run is cancelled after step 2, and step 3 writes the periodic checkpoint.
SCHEDULE = {"max_steps": 4, "log_every_steps": 1, "checkpoint_every_steps": 3, "save_total_limit": None}
POLICY = {**SCHEDULE, "learning_rate": 1e-3, "max_length": 256, "per_device_train_batch_size": 4}


def _method_cases(
    tiny_lm: Path, tiny_bert: Path, safety_rm: Path
) -> dict[str, tuple[Callable[..., dict[str, Any]], Any, str, Path]]:
    """method -> (runner, config, final artifact key, weights the artifact started from)."""
    return {
        "reward": (
            run_reward,
            RewardRunConfig(
                criterion="empathy", backbone=str(tiny_bert), learning_rate=1e-3, max_length=128, **SCHEDULE
            ),
            "model",
            tiny_bert,
        ),
        "sft": (
            run_sft,
            SFTRunConfig(base_model=str(tiny_lm), criteria=["empathy", "safety"], **POLICY),
            "adapter",
            tiny_lm,
        ),
        "dpo": (
            run_dpo,
            DPORunConfig(base_model=str(tiny_lm), criterion="empathy", **POLICY),
            "adapter",
            tiny_lm,
        ),
        "dpo_full_finetune": (
            run_dpo,
            DPORunConfig(base_model=str(tiny_lm), criterion="safety", use_lora=False, **POLICY),
            "model",
            tiny_lm,
        ),
        "modpo": (
            run_modpo,
            MODPORunConfig(
                base_model=str(tiny_lm),
                criterion="empathy",
                margin_reward_models=[{"criterion": "safety", "path": str(safety_rm)}],
                weights={"empathy": 0.7, "safety": 0.3},
                **POLICY,
            ),
            "adapter",
            tiny_lm,
        ),
        "joint": (
            run_joint,
            JointRunConfig(
                base_model=str(tiny_lm), criteria_weights={"empathy": 0.6, "safety": 0.4}, **POLICY
            ),
            "adapter",
            tiny_lm,
        ),
    }


def _weights_changed(artifact: Path, start: Path) -> bool:
    if (artifact / "adapter_model.safetensors").is_file():
        # LoRA B matrices start at zero: any non-zero B means the adapter was trained.
        tensors = load_file(str(artifact / "adapter_model.safetensors"))
        return any(t.abs().max() > 0 for name, t in tensors.items() if "lora_B" in name)
    trained = load_file(str(artifact / "model.safetensors"))
    initial = load_file(str(start / "model.safetensors"))
    shared = [name for name in initial if name in trained and trained[name].shape == initial[name].shape]
    assert shared, "the trained model should share parameters with its starting point"
    return any(not torch.equal(trained[name], initial[name]) for name in shared)


@pytest.mark.parametrize("method", ["reward", "sft", "dpo", "dpo_full_finetune", "modpo", "joint"])
def test_method_cancels_resumes_and_finishes(
    method: str,
    tiny_lm: Path,
    tiny_bert: Path,
    safety_reward_model: Path,
    snapshot_dir: Path,
    tmp_path: Path,
) -> None:
    run, config, artifact_key, start = _method_cases(tiny_lm, tiny_bert, safety_reward_model)[method]
    output = tmp_path / method

    cancelling = RecordingCallbacks(cancel_at_step=2)
    first = run(config, snapshot_dir, output, cancelling)
    assert first["status"] == "cancelled"
    assert first["training"]["global_step"] == 2
    assert Path(first["artifacts"]["checkpoint"]).name == "checkpoint-2"
    assert artifact_key not in first["artifacts"]
    assert [step for step, _, _ in cancelling.progress] == [1, 2]
    assert all(total == 4 and math.isfinite(metrics["loss"]) for _, total, metrics in cancelling.progress)

    following = RecordingCallbacks()
    second = run(config, snapshot_dir, output, following)
    assert second["status"] == "completed"
    assert Path(second["training"]["resumed_from"]).name == "checkpoint-2"
    assert second["training"]["global_step"] == 4
    assert [step for step, _, _ in following.progress] == [3, 4]
    assert all(
        "eta_seconds" in metrics and "learning_rate" in metrics for _, _, metrics in following.progress
    )
    assert (output / "checkpoints" / "checkpoint-3").is_dir()

    history = json.loads(Path(second["artifacts"]["log_history"]).read_text())
    assert [entry["step"] for entry in history if "loss" in entry] == [1, 2, 3, 4]
    artifact = Path(second["artifacts"][artifact_key])
    assert _weights_changed(artifact, start)
    assert (
        json.loads((artifact / "artifact.json").read_text())["snapshot_hash"]
        == load_snapshot(snapshot_dir).snapshot_hash
    )

    stored = json.loads((output / "result.json").read_text())
    assert stored["status"] == "completed"
    assert stored["lineage"]["snapshot_hash"] == load_snapshot(snapshot_dir).snapshot_hash
    assert stored["lineage"]["code_version"] == __version__
    assert stored["lineage"]["config"]["max_steps"] == 4
    assert str(start) in stored["lineage"]["parent_artifacts"]


def test_modpo_result_reports_margins_and_reward_model_lineage(
    tiny_lm: Path, safety_reward_model: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    config = MODPORunConfig(
        base_model=str(tiny_lm),
        criterion="empathy",
        margin_reward_models=[{"criterion": "safety", "path": str(safety_reward_model)}],
        weights={"empathy": 0.7, "safety": 0.3},
        **{**POLICY, "max_steps": 1},
    )
    result = run_modpo(config, snapshot_dir, tmp_path)
    snapshot = load_snapshot(snapshot_dir)
    n_pairs = len(snapshot.pairs("empathy"))
    margins = Path(result["artifacts"]["margins"]).read_text().splitlines()
    assert len(margins) == n_pairs
    assert str(safety_reward_model) in result["lineage"]["parent_artifacts"]
    assert result["metrics"]["weights"] == {"empathy": 0.7, "safety": 0.3}
    assert result["metrics"]["margin_unique_texts"] <= 2 * n_pairs
    assert 0.0 <= result["metrics"]["test/empathy/reward_accuracy"] <= 1.0
    assert "modpo/margin" in json.loads(Path(result["artifacts"]["log_history"]).read_text())[0]


def test_dpo_starts_from_an_sft_adapter(tiny_lm: Path, snapshot_dir: Path, tmp_path: Path) -> None:
    """The study's chain: SFT (LoRA) first, then DPO whose reference is the SFT model (adapter merged)."""
    sft = run_sft(
        SFTRunConfig(base_model=str(tiny_lm), criteria=["overall"], **{**POLICY, "max_steps": 1}),
        snapshot_dir,
        tmp_path / "sft",
    )
    sft_adapter = sft["artifacts"]["adapter"]
    dpo = run_dpo(
        DPORunConfig(base_model=sft_adapter, criterion="empathy", **{**POLICY, "max_steps": 1}),
        snapshot_dir,
        tmp_path / "dpo",
    )
    assert dpo["status"] == "completed"
    assert dpo["lineage"]["parent_artifacts"] == [sft_adapter]
    # At the first step the policy equals its reference (the merged SFT model), so the DPO loss is log 2.
    history = json.loads(Path(dpo["artifacts"]["log_history"]).read_text())
    assert history[0]["loss"] == pytest.approx(math.log(2), abs=1e-6)
