"""Loading a starting policy and saving a trained one: shared by SFT and the DPO family.

The saved artifact records its lineage (`lineage`): the raw base reference and the ancestor adapters it was
trained on top of, bundled inside it, so that loading it gives exactly the trained policy.

With LoRA the reference policy is the starting model with adapters disabled; with full fine-tuning a second,
frozen copy is loaded and passed to TRL explicitly (TRL would otherwise reload it by name, which goes wrong
when the starting model is an adapter merged in memory).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer

from . import __version__
from .configs import PolicyTrainingConfig
from .lineage import Lineage, adapter_sha256, bundle_lineage, chain_of_parent, is_adapter_dir
from .runtime import (
    Hardware,
    TrainOutcome,
    finish_run,
    last_checkpoint,
    load_causal_lm,
    load_tokenizer,
    policy_dtype,
    policy_metadata,
    resolve_hardware,
    save_policy,
    write_artifact_metadata,
)
from .snapshot import Snapshot


@dataclass
class PolicySetup:
    """A loaded starting policy, its reference (None with LoRA), tokenizer, and the lineage it continues."""

    model: PreTrainedModel
    ref_model: PreTrainedModel | None
    tokenizer: PreTrainedTokenizerBase
    hardware: Hardware
    lineage: Lineage

    @property
    def conversational(self) -> bool:
        return self.tokenizer.chat_template is not None


def load_policy(config: PolicyTrainingConfig) -> PolicySetup:
    """Load the starting policy (and a frozen reference copy for full fine-tuning)."""
    hardware = resolve_hardware(config.precision, load_in_4bit=config.load_in_4bit)
    # Read (and sha256-checked) before the heavy load: a damaged parent fails in seconds.
    lineage = chain_of_parent(config.base_model, policy_metadata(config.base_model))
    dtype = policy_dtype(config, hardware)
    model = load_causal_lm(config.base_model, dtype=dtype, hardware=hardware)
    ref_model = None if config.use_lora else load_causal_lm(config.base_model, dtype=dtype)
    return PolicySetup(
        model=model,
        ref_model=ref_model,
        tokenizer=load_tokenizer(config.base_model),
        hardware=hardware,
        lineage=lineage,
    )


def write_policy_metadata(
    artifacts: dict[str, str], *, lineage: Lineage, config: PolicyTrainingConfig, description: dict[str, Any]
) -> None:
    """Write `artifact.json` beside each saved policy: its lineage (ancestors bundled), parents and sha256.

    An adapter is loaded on top of the ancestors; full weights (`model/`, `merged/`) already contain them and
    record only the base reference, for provenance.
    """
    for directory in map(Path, artifacts.values()):
        adapter = is_adapter_dir(directory)
        chain = bundle_lineage(lineage if adapter else Lineage(lineage.base_model), directory)
        own = {"adapter_sha256": adapter_sha256(directory)} if adapter else {}
        write_artifact_metadata(
            directory,
            {**description, **chain, **own, "parent_runs": [dict(parent) for parent in config.parent_runs]},
        )


def finish_policy_run(
    trainer: Trainer,
    outcome: TrainOutcome,
    *,
    method: str,
    config: PolicyTrainingConfig,
    snapshot: Snapshot,
    output_dir: Path,
    policy: PolicySetup,
    criteria: list[str],
    evaluate: Callable[[], dict[str, Any]] | None,
    extra_metrics: dict[str, Any] | None = None,
    parents: list[str] | None = None,
    extra_artifacts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Save the trained policy with its metadata, evaluate on held-out data, and write the result.

    `evaluate` returns the held-out metrics, named by split (`test/...`).
    """
    parents = [config.base_model, *(parents or [])]
    extra_artifacts = extra_artifacts or {}
    metrics = {**outcome.train_metrics, **(extra_metrics or {})}
    finish = functools.partial(
        finish_run,
        method=method,
        config=config,
        snapshot=snapshot,
        output_dir=output_dir,
        parents=parents,
        hardware=policy.hardware,
        outcome=outcome,
    )
    if outcome.status == "cancelled":
        return finish(
            status="cancelled",
            metrics=metrics,
            artifacts={"checkpoint": str(last_checkpoint(output_dir)), **extra_artifacts},
            log_history=trainer.state.log_history,
        )
    artifacts = save_policy(trainer, output_dir, merged=config.save_merged_model)
    description = {
        "kind": "policy",
        "method": method,
        "criteria": criteria,
        "code_version": __version__,
        **snapshot.lineage(),
    }
    write_policy_metadata(artifacts, lineage=policy.lineage, config=config, description=description)
    if evaluate is not None:
        metrics.update(evaluate())
    return finish(
        status="completed",
        metrics=metrics,
        artifacts={**artifacts, **extra_artifacts},
        log_history=trainer.state.log_history,
    )
