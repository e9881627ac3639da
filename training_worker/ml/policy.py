"""Loading a starting policy and saving a trained one: shared by SFT and the DPO family.

With LoRA the reference policy is the starting model with adapters disabled; with full fine-tuning a second,
frozen copy is loaded and passed to TRL explicitly (TRL would otherwise reload it by name, which goes wrong
when the starting model is an adapter merged in memory).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer

from . import __version__
from .configs import PolicyTrainingConfig
from .runtime import (
    Hardware,
    TrainOutcome,
    finish_run,
    last_checkpoint,
    load_causal_lm,
    load_tokenizer,
    policy_dtype,
    resolve_hardware,
    save_policy,
    write_artifact_metadata,
)
from .snapshot import Snapshot


@dataclass
class PolicySetup:
    """A loaded starting policy, its reference (None with LoRA) and tokenizer."""

    model: PreTrainedModel
    ref_model: PreTrainedModel | None
    tokenizer: PreTrainedTokenizerBase
    hardware: Hardware

    @property
    def conversational(self) -> bool:
        return self.tokenizer.chat_template is not None


def load_policy(config: PolicyTrainingConfig) -> PolicySetup:
    """Load the starting policy (and a frozen reference copy for full fine-tuning)."""
    hardware = resolve_hardware(config.precision, load_in_4bit=config.load_in_4bit)
    dtype = policy_dtype(config, hardware)
    model = load_causal_lm(config.base_model, dtype=dtype, hardware=hardware)
    ref_model = None if config.use_lora else load_causal_lm(config.base_model, dtype=dtype)
    return PolicySetup(
        model=model, ref_model=ref_model, tokenizer=load_tokenizer(config.base_model), hardware=hardware
    )


def finish_policy_run(
    trainer: Trainer,
    outcome: TrainOutcome,
    *,
    method: str,
    config: PolicyTrainingConfig,
    snapshot: Snapshot,
    output_dir: Path,
    hardware: Hardware,
    criteria: list[str],
    eval_dataset: Dataset | None,
    extra_metrics: dict[str, Any] | None = None,
    parents: list[str] | None = None,
    extra_artifacts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Save the trained policy with its metadata, evaluate on held-out pairs, and write the result."""
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
        hardware=hardware,
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
    for directory in artifacts.values():
        write_artifact_metadata(
            Path(directory),
            {
                "kind": "policy",
                "method": method,
                "criteria": criteria,
                "base_model": config.base_model,
                "code_version": __version__,
                **snapshot.lineage(),
            },
        )
    if eval_dataset is not None:
        # The held-out pairs are the snapshot's test split; TRL prefixes its own metrics "eval_" regardless.
        held_out = trainer.evaluate(eval_dataset=eval_dataset)
        metrics.update({f"test_{key.removeprefix('eval_')}": value for key, value in held_out.items()})
    return finish(
        status="completed",
        metrics=metrics,
        artifacts={**artifacts, **extra_artifacts},
        log_history=trainer.state.log_history,
    )
