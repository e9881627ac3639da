"""The command line trains from a snapshot directory without the web app and prints the result as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from training_worker.ml.cli import main
from training_worker.ml.scoring import RewardScorer


def test_build_tiny_models_and_toy_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build-tiny-models", "--output", str(tmp_path / "models")]) == 0
    built = json.loads(capsys.readouterr().out)
    assert (Path(built["policy"]) / "config.json").is_file()
    assert (Path(built["reward_backbone"]) / "config.json").is_file()
    assert main(["build-toy-snapshot", "--output", str(tmp_path / "snap"), "--questions", "6"]) == 0
    assert (Path(json.loads(capsys.readouterr().out)["snapshot"]) / "manifest.json").is_file()


def test_train_dpo_from_yaml_config(
    tiny_lm: Path, snapshot_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "dpo.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "base_model": str(tiny_lm),
                "criterion": "empathy",
                "max_steps": 2,
                "per_device_train_batch_size": 4,
            }
        )
    )
    argv = ["train", "--method", "dpo", "--snapshot", str(snapshot_dir), "--config", str(config)]
    assert main([*argv, "--output", str(tmp_path / "out")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "completed"
    assert result["training"]["global_step"] == 2
    assert Path(result["artifacts"]["adapter"]).is_dir()


def test_generate_output_is_scored_as_it_stands(
    tiny_lm: Path,
    safety_reward_model: Path,
    snapshot_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """generate -> score through the CLI: a reward per response per criterion, no snapshot for score."""
    generate = tmp_path / "generate.yaml"
    generate.write_text(
        yaml.safe_dump({"policy": str(tiny_lm), "num_responses": 2, "max_new_tokens": 6, "max_questions": 2})
    )
    argv = ["train", "--method", "generate", "--snapshot", str(snapshot_dir), "--config", str(generate)]
    assert main([*argv, "--output", str(tmp_path / "gen")]) == 0
    responses = Path(json.loads(capsys.readouterr().out)["artifacts"]["responses"])

    score = tmp_path / "score.yaml"
    score.write_text(
        yaml.safe_dump(
            {
                "reward_models": [{"criterion": "safety", "path": str(safety_reward_model)}],
                "items": str(responses),
            }
        )
    )
    argv = ["train", "--method", "score", "--config", str(score), "--output", str(tmp_path / "score")]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "completed"
    assert (result["metrics"]["items"], result["metrics"]["single_responses"]) == (4, 4)

    generated = [json.loads(line) for line in responses.read_text().splitlines()]
    rows = [json.loads(line) for line in Path(result["artifacts"]["scores"]).read_text().splitlines()]
    assert [row["item_id"] for row in rows] == [record["item_id"] for record in generated]
    direct = RewardScorer(safety_reward_model).score(
        [record["prompt"] for record in generated], [record["response"] for record in generated]
    )
    assert [row["scores"]["safety"] for row in rows] == pytest.approx(direct.tolist(), abs=1e-5)


def test_configuration_errors_exit_with_status_2(
    snapshot_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "modpo.json"
    config.write_text(
        json.dumps(
            {
                "base_model": str(tmp_path),
                "criterion": "empathy",
                "margin_reward_models": [{"criterion": "safety", "path": str(tmp_path)}],
                "weights": {"empathy": 0.0, "safety": 1.0},
            }
        )
    )
    argv = ["train", "--method", "modpo", "--snapshot", str(snapshot_dir), "--config", str(config)]
    assert main([*argv, "--output", str(tmp_path / "out")]) == 2
    assert "w_k must be positive" in capsys.readouterr().err


def test_module_entry_point_runs() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "training_worker.ml", "train", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert completed.returncode == 0
    assert "--method" in completed.stdout and "modpo" in completed.stdout


def test_package_never_imports_django() -> None:
    """The GPU worker runs this package without the web app's settings or dependencies."""
    modules = ", ".join(
        f"training_worker.ml.{name}"
        for name in (
            "cli",
            "registry",
            "configs",
            "reward",
            "sft",
            "dpo",
            "modpo",
            "joint",
            "merge",
            "generate",
            "tiny_models",
        )
    )
    code = f"import sys, {modules}; sys.exit('django' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        check=False,
        capture_output=True,
    )
    assert completed.returncode == 0, completed.stderr
