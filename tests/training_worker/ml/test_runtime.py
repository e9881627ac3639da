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
