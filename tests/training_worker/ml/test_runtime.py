"""Hardware decisions degrade gracefully instead of failing where CUDA or bitsandbytes are missing."""

from __future__ import annotations

import pytest
import torch

from training_worker.ml.runtime import resolve_hardware


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
def test_cpu_falls_back_to_fp32_and_unquantised_weights() -> None:
    hardware = resolve_hardware("auto", load_in_4bit=True)
    assert hardware.device == "cpu"
    assert hardware.precision == "fp32"
    assert hardware.quantization is None
    assert any("load_in_4bit ignored" in note for note in hardware.notes)


def test_explicit_precision_is_kept() -> None:
    assert resolve_hardware("fp32").precision == "fp32"


def test_resume_passes_over_a_checkpoint_a_killed_worker_left_half_written(tmp_path):
    """A worker killed while saving checkpoint-15 leaves it without its trainer state: the resume takes
    checkpoint-10, the newest complete one (not checkpoint-15, nor checkpoint-9 by name order)."""
    from training_worker.ml.runtime import CHECKPOINT_SUBDIR, last_checkpoint

    assert last_checkpoint(tmp_path) is None
    checkpoints = tmp_path / CHECKPOINT_SUBDIR
    for step, complete in ((5, True), (9, True), (10, True), (15, False)):
        folder = checkpoints / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"weights")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    (checkpoints / "checkpoint-latest").mkdir()
    assert last_checkpoint(tmp_path) == str(checkpoints / "checkpoint-10")
