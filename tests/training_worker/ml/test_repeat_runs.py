"""A run whose training finished is never trained again: repeating it reuses the finished output."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from training_worker.ml.configs import MergeRunConfig
from training_worker.ml.merge import run_merge
from training_worker.ml.runtime import completed_result

ROOT = Path(__file__).resolve().parents[3]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_cli_run_repeated_three_times_trains_two_steps_once(
    tiny_lm: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "dpo.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "base_model": str(tiny_lm),
                "criterion": "empathy",
                "max_steps": 2,
                "per_device_train_batch_size": 4,
                "learning_rate": 1e-3,
                "precision": "fp32",
            }
        )
    )
    output = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "training_worker.ml",
        "train",
        "--method",
        "dpo",
        "--snapshot",
        str(snapshot_dir),
        "--config",
        str(config),
        "--output",
        str(output),
    ]
    steps, weights, reused = [], [], []
    for _ in range(3):
        completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
        assert completed.returncode == 0, completed.stderr[-3000:]
        result = json.loads(completed.stdout)
        steps.append(result["training"]["global_step"])
        reused.append(result["training"]["reused_checkpoint"])
        weights.append(_sha256(Path(result["artifacts"]["adapter"]) / "adapter_model.safetensors"))
    assert steps == [2, 2, 2]
    assert reused == [False, True, True]
    assert len(set(weights)) == 1, "the same weights every time"
    assert [p.name for p in (output / "checkpoints").glob("checkpoint-*")] == ["checkpoint-2"]


def test_completed_result_is_found_where_the_output_now_lies(
    lora_adapters: list[Path], tmp_path: Path
) -> None:
    config = MergeRunConfig(models=[str(p) for p in lora_adapters])
    run_merge(config, None, tmp_path / "first")
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "first", moved)

    reused = completed_result(moved, config)
    assert reused is not None
    assert reused["artifacts"]["adapter"] == str(moved / "adapter")
    assert reused["artifacts"]["result"] == str(moved / "result.json")

    with pytest.raises(ValueError, match="another config"):
        completed_result(moved, MergeRunConfig(models=[str(p) for p in lora_adapters], weights=[0.3, 0.7]))

    shutil.rmtree(moved / "adapter")
    assert completed_result(moved, config) is None, "a result whose artifacts are gone is not reused"
    assert completed_result(tmp_path / "never-ran", config) is None
