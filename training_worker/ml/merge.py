"""Model merging ("DPO soup"): linear and SLERP merges of LoRA adapters or of full model weights.

Adapters are merged tensor by tensor (A and B matrices separately), which is what merging "separately
trained adapters" means in the study; they must share base model, ancestors (e.g. the same SFT adapter they
were trained on), rank and target modules, and the merged adapter keeps that lineage. Full models are merged
the same way over their whole state dict. Merging with weights (1, 0), or SLERP with t = 0 or 1,
reproduces an input model exactly.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from . import __version__
from .callbacks import NullCallbacks, RunCallbacks
from .configs import MergeRunConfig
from .lineage import (
    ADAPTER_WEIGHTS,
    ANCESTORS_DIR,
    Lineage,
    adapter_sha256,
    bundle_lineage,
    is_adapter_dir,
    read_lineage,
)
from .runtime import ARTIFACT_FILE, finish_run, load_tokenizer, policy_metadata, write_artifact_metadata
from .snapshot import load_snapshot

# Adapter settings that must agree for a tensor-wise merge to mean anything.
ADAPTER_KEYS_THAT_MUST_MATCH = ("base_model_name_or_path", "r", "lora_alpha", "target_modules", "peft_type")
# Below this angle between two tensors SLERP is numerically a straight line; interpolate linearly instead.
SLERP_COLINEAR_DOT = 0.9995


def _check_same_tensors(state_dicts: Sequence[dict[str, torch.Tensor]]) -> None:
    first = state_dicts[0]
    for index, other in enumerate(state_dicts[1:], start=1):
        if set(other) != set(first):
            raise ValueError(f"Model {index} has different parameters than model 0; they cannot be merged.")
        for name, tensor in first.items():
            if other[name].shape != tensor.shape:
                raise ValueError(f"{name}: shape {tuple(other[name].shape)} != {tuple(tensor.shape)}.")


def linear_merge(
    state_dicts: Sequence[dict[str, torch.Tensor]], weights: Sequence[float]
) -> dict[str, torch.Tensor]:
    """sum_i w_i * theta_i per tensor, computed in float64 and returned in each tensor's dtype."""
    _check_same_tensors(state_dicts)
    merged = {}
    for name, tensor in state_dicts[0].items():
        total = torch.zeros_like(tensor, dtype=torch.float64)
        for weight, state_dict in zip(weights, state_dicts, strict=True):
            total += weight * state_dict[name].double()
        merged[name] = total.to(tensor.dtype)
    return merged


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between two tensors viewed as vectors (linear when nearly colinear)."""
    a64, b64 = a.double().flatten(), b.double().flatten()
    norm_a, norm_b = a64.norm(), b64.norm()
    if norm_a == 0 or norm_b == 0:
        return ((1 - t) * a64 + t * b64).reshape(a.shape).to(a.dtype)
    dot = torch.clamp((a64 / norm_a) @ (b64 / norm_b), -1.0, 1.0)
    if dot.abs() > SLERP_COLINEAR_DOT:
        result = (1 - t) * a64 + t * b64
    else:
        theta = torch.arccos(dot)
        result = (torch.sin((1 - t) * theta) * a64 + torch.sin(t * theta) * b64) / torch.sin(theta)
    return result.reshape(a.shape).to(a.dtype)


def slerp_merge(
    first: dict[str, torch.Tensor], second: dict[str, torch.Tensor], t: float
) -> dict[str, torch.Tensor]:
    """SLERP every tensor of two state dicts with the same parameters."""
    _check_same_tensors([first, second])
    return {name: slerp(tensor, second[name], t) for name, tensor in first.items()}


def _merge(config: MergeRunConfig, state_dicts: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    if config.method == "linear":
        return linear_merge(state_dicts, config.linear_weights())
    return slerp_merge(state_dicts[0], state_dicts[1], config.t)


def _shared_lineage(models: Sequence[str]) -> Lineage:
    """The lineage every adapter shares; a tensor-wise merge of deltas on different bases means nothing."""
    lineages = [read_lineage(path, policy_metadata(path)) for path in models]
    chains = [(lineage.base_model, [a.sha256 for a in lineage.ancestors]) for lineage in lineages]
    if any(chain != chains[0] for chain in chains):
        raise ValueError(
            "The adapters were trained on different bases or ancestor adapters (e.g. different SFT runs); "
            f"they cannot be merged tensor-wise: {chains}."
        )
    return lineages[0]


def _merge_adapters(config: MergeRunConfig, target: Path) -> Lineage:
    lineage = _shared_lineage(config.models)
    adapter_configs = [json.loads((Path(p) / "adapter_config.json").read_text()) for p in config.models]
    for key in ADAPTER_KEYS_THAT_MUST_MATCH:
        values = [adapter_config.get(key) for adapter_config in adapter_configs]
        if any(value != values[0] for value in values):
            raise ValueError(f"Adapters disagree on {key!r} ({values}); they cannot be merged tensor-wise.")
    for path in config.models:
        if not (Path(path) / ADAPTER_WEIGHTS).is_file():
            raise ValueError(f"{path} has no {ADAPTER_WEIGHTS}.")
    merged = _merge(config, [load_file(str(Path(p) / ADAPTER_WEIGHTS)) for p in config.models])
    # The first adapter's directory supplies the config and tokenizer files; only the weights change.
    shutil.copytree(
        config.models[0], target, ignore=shutil.ignore_patterns(ADAPTER_WEIGHTS, ARTIFACT_FILE, ANCESTORS_DIR)
    )
    save_file(merged, str(target / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    return lineage


def _merge_full_models(config: MergeRunConfig, target: Path) -> Lineage:
    models = [AutoModelForCausalLM.from_pretrained(path, dtype="auto") for path in config.models]
    merged = _merge(config, [model.state_dict() for model in models])
    models[0].load_state_dict(merged)
    models[0].save_pretrained(str(target))
    load_tokenizer(config.models[0]).save_pretrained(str(target))
    # Full weights load as they are; the first model's recorded base is kept for provenance only.
    return Lineage(base_model=policy_metadata(config.models[0]).get("base_model", config.models[0]))


def run_merge(
    config: MergeRunConfig,
    snapshot_dir: str | Path | None,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Merge the configured policies into `<output_dir>/adapter` or `<output_dir>/model`.

    The snapshot is optional and only recorded for lineage; merging reads no training data. `callbacks` is
    accepted for a uniform runner signature; a merge is a single short step, reported once.
    """
    callbacks = callbacks or NullCallbacks()
    output_dir = Path(output_dir)
    config.check_paths()
    snapshot = load_snapshot(snapshot_dir) if snapshot_dir is not None else None
    kinds = {is_adapter_dir(path) for path in config.models}
    if len(kinds) != 1:
        raise ValueError("Merge either LoRA adapters or full models, not a mix of both.")
    adapters = kinds.pop()
    target = output_dir / ("adapter" if adapters else "model")
    if target.exists():
        shutil.rmtree(target)
    output_dir.mkdir(parents=True, exist_ok=True)
    lineage = (_merge_adapters if adapters else _merge_full_models)(config, target)

    parent_metadata = [policy_metadata(path) for path in config.models]
    criteria = sorted({c for metadata in parent_metadata for c in metadata.get("criteria", [])})
    write_artifact_metadata(
        target,
        {
            "kind": "policy",
            "method": "merge",
            "merge_method": config.method,
            "criteria": criteria,
            **bundle_lineage(lineage, target),
            **({"adapter_sha256": adapter_sha256(target)} if adapters else {}),
            "code_version": __version__,
            "parent_snapshots": sorted({m["snapshot_hash"] for m in parent_metadata if "snapshot_hash" in m}),
            **(snapshot.lineage() if snapshot is not None else {}),
        },
    )
    callbacks.on_progress(1, 1, {})
    metrics = {"merge_method": config.method, "n_models": len(config.models)}
    metrics.update({"weights": config.linear_weights()} if config.method == "linear" else {"t": config.t})
    return finish_run(
        method="merge",
        config=config,
        snapshot=snapshot,
        output_dir=output_dir,
        status="completed",
        metrics=metrics,
        artifacts={target.name: str(target)},
        parents=list(config.models),
    )
