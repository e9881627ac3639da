"""A policy artifact loads as exactly the policy that was trained, whatever its ancestry.

DPO, MODPO, joint-loss DPO and SFT trained on top of an SFT adapter, and merges of such children, are loaded
with the one loader (`load_causal_lm`) and compared with the trained model itself: the `merged/` weights that
the run saved from its in-memory model (save_merged_model=True). Before lineage was recorded, such a child
loaded as raw base + its own adapter, dropping the SFT stage.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from training_worker.ml.configs import (
    ConfigFieldError,
    DPORunConfig,
    JointRunConfig,
    MergeRunConfig,
    MODPORunConfig,
    SFTRunConfig,
)
from training_worker.ml.dpo import run_dpo
from training_worker.ml.joint import run_joint
from training_worker.ml.merge import run_merge
from training_worker.ml.modpo import run_modpo
from training_worker.ml.runtime import load_causal_lm, load_tokenizer
from training_worker.ml.sft import run_sft

# Each test trains tiny models (seconds per run, minutes for the module).
slow = pytest.mark.slow
TOLERANCE = 1e-4
STEPS = {
    "max_steps": 2,
    "log_every_steps": 1,
    "checkpoint_every_steps": 100,
    "max_length": 256,
    "per_device_train_batch_size": 4,
    "precision": "fp32",
    "evaluate_on_test": False,
}
# A high learning rate moves the policy visibly in two steps, so every stage of the chain shows in the logits.
CHILD = {**STEPS, "learning_rate": 1e-2, "save_merged_model": True}


def _logits(model: Any, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


@pytest.fixture(scope="module")
def probe(tiny_lm: Path) -> dict[str, torch.Tensor]:
    return dict(
        load_tokenizer(tiny_lm)("I feel anxious about tomorrow and cannot sleep.", return_tensors="pt")
    )


@pytest.fixture(scope="module")
def sft_adapter(tiny_lm: Path, snapshot_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SFTRunConfig(base_model=str(tiny_lm), **{**STEPS, "learning_rate": 1e-2})
    return Path(run_sft(config, snapshot_dir, tmp_path_factory.mktemp("sft"))["artifacts"]["adapter"])


def _children(safety_rm: Path) -> dict[str, tuple[Callable[..., dict[str, Any]], Callable[[str], Any]]]:
    """method -> (runner, config for a given starting policy)."""
    return {
        "dpo": (run_dpo, lambda start: DPORunConfig(base_model=start, criterion="empathy", **CHILD)),
        "modpo": (
            run_modpo,
            lambda start: MODPORunConfig(
                base_model=start,
                criterion="empathy",
                margin_reward_models=[{"criterion": "safety", "path": str(safety_rm)}],
                weights={"empathy": 0.7, "safety": 0.3},
                **CHILD,
            ),
        ),
        "joint": (
            run_joint,
            lambda start: JointRunConfig(
                base_model=start, criteria_weights={"empathy": 0.5, "safety": 0.5}, **CHILD
            ),
        ),
        "sft": (run_sft, lambda start: SFTRunConfig(base_model=start, criteria=["empathy"], **CHILD)),
    }


@slow
@pytest.mark.parametrize("method", ["dpo", "modpo", "joint", "sft"])
def test_child_of_an_sft_adapter_loads_as_trained(
    method: str,
    tiny_lm: Path,
    sft_adapter: Path,
    safety_reward_model: Path,
    snapshot_dir: Path,
    probe: dict[str, torch.Tensor],
    tmp_path: Path,
) -> None:
    run, config = _children(safety_reward_model)[method]
    result = run(config(str(sft_adapter)), snapshot_dir, tmp_path / method)
    adapter = Path(result["artifacts"]["adapter"])

    trained = _logits(AutoModelForCausalLM.from_pretrained(result["artifacts"]["merged"]), probe)
    loaded = _logits(load_causal_lm(adapter), probe)
    raw = _logits(load_causal_lm(tiny_lm), probe)
    sft = _logits(load_causal_lm(sft_adapter), probe)
    print(
        f"{method} on SFT: max|loaded-trained|={(loaded - trained).abs().max():.3g} "
        f"max|loaded-raw|={(loaded - raw).abs().max():.3g} max|loaded-sft|={(loaded - sft).abs().max():.3g}"
    )
    assert (loaded - trained).abs().max() <= TOLERANCE
    assert (loaded - raw).abs().max() > 100 * TOLERANCE, "the loaded policy must not be the raw base"
    assert (loaded - sft).abs().max() > 100 * TOLERANCE, "the child trained on top of SFT"

    metadata = json.loads((adapter / "artifact.json").read_text())
    assert metadata["base_model"] == str(tiny_lm), "the raw base, as the SFT run configured it"
    sft_sha = json.loads((sft_adapter / "artifact.json").read_text())["adapter_sha256"]
    assert [(a["path"], a["sha256"]) for a in metadata["ancestors"]] == [("ancestors/0-sft", sft_sha)]


@slow
def test_dpo_with_a_vanishing_learning_rate_is_its_sft_parent(
    tiny_lm: Path, sft_adapter: Path, snapshot_dir: Path, probe: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    """The measured bug: a DPO run that cannot move (lr 1e-12) IS the SFT policy, and must load as it."""
    config = DPORunConfig(
        base_model=str(sft_adapter), criterion="empathy", **{**STEPS, "learning_rate": 1e-12}
    )
    adapter = run_dpo(config, snapshot_dir, tmp_path)["artifacts"]["adapter"]
    loaded = _logits(load_causal_lm(adapter), probe)
    sft = _logits(load_causal_lm(sft_adapter), probe)
    raw = _logits(load_causal_lm(tiny_lm), probe)
    print(
        f"dpo lr=1e-12: max|loaded-sft|={(loaded - sft).abs().max():.3g} "
        f"max|loaded-raw|={(loaded - raw).abs().max():.3g}"
    )
    assert (loaded - sft).abs().max() <= TOLERANCE
    assert (loaded - raw).abs().max() > 100 * TOLERANCE


@slow
def test_artifact_moved_to_another_folder_loads_identically(
    tiny_lm: Path, snapshot_dir: Path, probe: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    first = tmp_path / "worker-a"
    sft = run_sft(
        SFTRunConfig(base_model=str(tiny_lm), **{**STEPS, "learning_rate": 1e-2}), snapshot_dir, first / "sft"
    )
    dpo_config = DPORunConfig(base_model=sft["artifacts"]["adapter"], criterion="empathy", **CHILD)
    adapter = run_dpo(dpo_config, snapshot_dir, first / "dpo")["artifacts"]["adapter"]
    before = _logits(load_causal_lm(adapter), probe)

    moved = tmp_path / "worker-b" / "policy"
    shutil.copytree(adapter, moved)
    shutil.rmtree(first)  # the parent SFT run and the original output are gone
    assert (_logits(load_causal_lm(moved), probe) - before).abs().max() <= TOLERANCE


@slow
def test_damaged_ancestor_is_refused(sft_adapter: Path, snapshot_dir: Path, tmp_path: Path) -> None:
    config = DPORunConfig(base_model=str(sft_adapter), criterion="empathy", **STEPS)
    adapter = Path(run_dpo(config, snapshot_dir, tmp_path / "dpo")["artifacts"]["adapter"])
    copy = tmp_path / "copy"
    shutil.copytree(adapter, copy)
    weights = copy / "ancestors" / "0-sft" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ValueError, match="does not match its sha256"):
        load_causal_lm(copy)


@slow
def test_merges_of_children_of_sft_load_as_their_inputs(
    tiny_lm: Path, sft_adapter: Path, snapshot_dir: Path, probe: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    children = [
        run_dpo(
            DPORunConfig(base_model=str(sft_adapter), criterion=criterion, **{**CHILD, "seed": seed}),
            snapshot_dir,
            tmp_path / criterion,
        )["artifacts"]["adapter"]
        for seed, criterion in enumerate(["empathy", "safety"])
    ]
    expected = [_logits(load_causal_lm(child), probe) for child in children]
    raw = _logits(load_causal_lm(tiny_lm), probe)
    assert (expected[0] - expected[1]).abs().max() > 100 * TOLERANCE

    linear = run_merge(MergeRunConfig(models=children, weights=[1.0, 0.0]), None, tmp_path / "linear")
    slerp = run_merge(MergeRunConfig(models=children, method="slerp", t=1.0), None, tmp_path / "slerp")
    middle = run_merge(MergeRunConfig(models=children), None, tmp_path / "middle")
    linear_logits = _logits(load_causal_lm(linear["artifacts"]["adapter"]), probe)
    slerp_logits = _logits(load_causal_lm(slerp["artifacts"]["adapter"]), probe)
    middle_logits = _logits(load_causal_lm(middle["artifacts"]["adapter"]), probe)
    print(
        f"merge (1,0): max|loaded-child|={(linear_logits - expected[0]).abs().max():.3g} "
        f"max|loaded-raw|={(linear_logits - raw).abs().max():.3g}"
    )
    assert (linear_logits - expected[0]).abs().max() <= TOLERANCE
    assert (slerp_logits - expected[1]).abs().max() <= TOLERANCE
    assert (linear_logits - raw).abs().max() > 100 * TOLERANCE
    assert (middle_logits - raw).abs().max() > 100 * TOLERANCE

    merged_metadata = json.loads((Path(middle["artifacts"]["adapter"]) / "artifact.json").read_text())
    child_metadata = json.loads((Path(children[0]) / "artifact.json").read_text())
    assert merged_metadata["ancestors"] == child_metadata["ancestors"]
    assert merged_metadata["base_model"] == str(tiny_lm)


@slow
def test_adapters_on_different_ancestors_are_not_merged(
    tiny_lm: Path, sft_adapter: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    on_sft = run_dpo(
        DPORunConfig(base_model=str(sft_adapter), criterion="empathy", **STEPS), snapshot_dir, tmp_path / "a"
    )
    on_base = run_dpo(
        DPORunConfig(base_model=str(tiny_lm), criterion="empathy", **STEPS), snapshot_dir, tmp_path / "b"
    )
    models = [on_sft["artifacts"]["adapter"], on_base["artifacts"]["adapter"]]
    with pytest.raises(ValueError, match="different bases or ancestor adapters"):
        run_merge(MergeRunConfig(models=models), None, tmp_path / "merge")


@slow
def test_parent_runs_are_recorded_in_the_artifact(tiny_lm: Path, snapshot_dir: Path, tmp_path: Path) -> None:
    parents = [{"run": 12, "sha256": "ab" * 32}]
    config = DPORunConfig(base_model=str(tiny_lm), criterion="empathy", parent_runs=parents, **STEPS)
    adapter = Path(run_dpo(config, snapshot_dir, tmp_path)["artifacts"]["adapter"])
    assert json.loads((adapter / "artifact.json").read_text())["parent_runs"] == parents


@pytest.mark.parametrize("parent_runs", [[{"run": 1}], [{"run": 1, "sha256": "x", "extra": 2}], ["run-1"]])
def test_malformed_parent_runs_are_refused(tiny_lm: Path, parent_runs: Any) -> None:
    with pytest.raises(ConfigFieldError) as error:
        DPORunConfig(base_model=str(tiny_lm), criterion="empathy", parent_runs=parent_runs)
    assert error.value.field == "parent_runs"
