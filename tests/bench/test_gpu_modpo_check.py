"""The GPU check asserts: it passes on a correct MODPO, and fails when the margin never reaches the loss.

On a CPU the script runs its --dry-run (tiny Llama, fp32, the same three checks); on a GPU it runs in bf16 at
full size, where only the device check itself can run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from trl import DPOTrainer

from training_worker.ml.modpo import MODPOTrainer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import gpu_modpo_check  # noqa: E402


@pytest.mark.slow
def test_dry_run_passes_every_check() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_modpo_check.py"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert output.count("PASS ") == 3
    assert "GPU check: all 3 checks passed" in output
    assert "MODPO/DPO step time ratio" in output


class MarginIgnoredTrainer(MODPOTrainer):
    """Receives the margin but trains plain DPO with beta / w_k: the silent failure of the study's code."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = {**inputs, "margin": torch.zeros_like(inputs["margin"])}
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


@pytest.fixture(scope="module")
def dry_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("policy")
    gpu_modpo_check.build_policy(directory, gpu_modpo_check.DRY_POLICY, torch.float32)
    return directory


def test_the_loss_checks_pass_on_our_modpo_trainer(dry_policy: Path, tmp_path: Path) -> None:
    checks = gpu_modpo_check.loss_checks(dry_policy, tmp_path, "cpu", "fp32")
    assert [check.passed for check in checks] == [True, True]


def test_a_trainer_that_ignores_the_margin_fails_both_loss_checks(
    dry_policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_modpo_check, "MODPOTrainer", MarginIgnoredTrainer)
    checks = gpu_modpo_check.loss_checks(dry_policy, tmp_path, "cpu", "fp32")
    assert [check.passed for check in checks] == [False, False]
    assert checks[1].measured > 0.1


def test_a_trainer_that_drops_the_margin_fails_both_loss_checks(
    dry_policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TRL's DPOTrainer silently drops the margin column (as the study's trainer did): the check sees it."""
    monkeypatch.setattr(gpu_modpo_check, "MODPOTrainer", DPOTrainer)
    checks = gpu_modpo_check.loss_checks(dry_policy, tmp_path, "cpu", "fp32")
    assert [check.passed for check in checks] == [False, False]
    assert all("dropped the margin" in check.detail for check in checks)
