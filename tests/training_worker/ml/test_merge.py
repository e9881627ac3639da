"""DPO soup: linear and SLERP merges reproduce their endpoints exactly and interpolate in between."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from training_worker.ml.configs import MergeRunConfig
from training_worker.ml.merge import linear_merge, run_merge, slerp
from training_worker.ml.runtime import load_causal_lm, load_tokenizer


def _adapter_tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "adapter_model.safetensors"))


def _full_tensors(path: Path) -> dict[str, torch.Tensor]:
    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def _assert_identical(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert actual.keys() == expected.keys()
    for name, tensor in expected.items():
        assert actual[name].dtype == tensor.dtype, name
        assert torch.equal(actual[name], tensor), name


def test_linear_merge_one_zero_reproduces_first_adapter(lora_adapters: list[Path], tmp_path: Path) -> None:
    result = run_merge(
        MergeRunConfig(models=[str(p) for p in lora_adapters], weights=[1.0, 0.0]), None, tmp_path
    )
    merged_dir = Path(result["artifacts"]["adapter"])
    _assert_identical(_adapter_tensors(merged_dir), _adapter_tensors(lora_adapters[0]))
    # And the merged adapter behaves as the first one: same logits when applied to the base.
    tokenizer = load_tokenizer(merged_dir)
    inputs = tokenizer("I feel anxious", return_tensors="pt")
    with torch.no_grad():
        merged_logits = load_causal_lm(merged_dir)(**inputs).logits
        first_logits = load_causal_lm(lora_adapters[0])(**inputs).logits
    assert torch.equal(merged_logits, first_logits)
    assert result["status"] == "completed"
    assert json.loads((merged_dir / "artifact.json").read_text())["merge_method"] == "linear"


def test_linear_merge_zero_one_reproduces_second_full_model(
    tiny_lm: Path, second_tiny_lm: Path, tmp_path: Path
) -> None:
    result = run_merge(
        MergeRunConfig(models=[str(tiny_lm), str(second_tiny_lm)], weights=[0.0, 1.0]), None, tmp_path
    )
    _assert_identical(_full_tensors(Path(result["artifacts"]["model"])), _full_tensors(second_tiny_lm))


@pytest.mark.parametrize("t", [0.0, 1.0])
def test_slerp_endpoints_reproduce_adapters(lora_adapters: list[Path], tmp_path: Path, t: float) -> None:
    config = MergeRunConfig(models=[str(p) for p in lora_adapters], method="slerp", t=t)
    merged = _adapter_tensors(Path(run_merge(config, None, tmp_path)["artifacts"]["adapter"]))
    _assert_identical(merged, _adapter_tensors(lora_adapters[int(t)]))


@pytest.mark.parametrize("t", [0.0, 1.0])
def test_slerp_endpoints_reproduce_full_models(
    tiny_lm: Path, second_tiny_lm: Path, tmp_path: Path, t: float
) -> None:
    config = MergeRunConfig(models=[str(tiny_lm), str(second_tiny_lm)], method="slerp", t=t)
    merged = _full_tensors(Path(run_merge(config, None, tmp_path)["artifacts"]["model"]))
    _assert_identical(merged, _full_tensors([tiny_lm, second_tiny_lm][int(t)]))


def test_slerp_midpoint_follows_the_arc() -> None:
    a = torch.tensor([1.0, 0.0])
    b = torch.tensor([0.0, 1.0])
    assert torch.allclose(slerp(a, b, 0.5), torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    # Nearly parallel tensors fall back to linear interpolation instead of dividing by sin(0).
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a)


def test_linear_merge_averages() -> None:
    first = {"w": torch.tensor([1.0, 2.0])}
    second = {"w": torch.tensor([3.0, 6.0])}
    assert torch.allclose(linear_merge([first, second], [0.25, 0.75])["w"], torch.tensor([2.5, 5.0]))


def test_adapters_with_different_ranks_are_not_merged(lora_adapters: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "other_rank"
    shutil.copytree(lora_adapters[1], other)
    config_path = other / "adapter_config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "r": 8}))
    with pytest.raises(ValueError, match="disagree on 'r'"):
        run_merge(MergeRunConfig(models=[str(lora_adapters[0]), str(other)]), None, tmp_path / "out")


def test_adapters_and_full_models_are_not_mixed(
    lora_adapters: list[Path], tiny_lm: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="not a mix"):
        run_merge(MergeRunConfig(models=[str(lora_adapters[0]), str(tiny_lm)]), None, tmp_path)
