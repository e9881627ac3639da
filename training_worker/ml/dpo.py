"""DPO per criterion on TRL's DPOTrainer, plus what the preference-policy runners (DPO, MODPO, joint) share:
a collator that carries extra per-pair columns and the validate-load-build-train-save skeleton.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from trl import DPOConfig, DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference

from .callbacks import NullCallbacks, RunCallbacks
from .configs import DPORunConfig, PolicyTrainingConfig
from .policy import PolicySetup, finish_policy_run, load_policy
from .runtime import Hardware, lora_config, train_with_checkpoints, trainer_arguments
from .snapshot import Snapshot, load_snapshot, preference_dataset


@dataclass
class DataCollatorWithExtras(DataCollatorForPreference):
    """TRL's preference collator, also stacking per-pair extra columns (e.g. `margin`) into the batch.

    TRL's own collator keeps only the columns it knows, so anything a subclassed loss needs per pair must be
    carried through here.
    """

    extra_keys: dict[str, torch.dtype] = field(default_factory=dict)

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().torch_call(examples)
        for key, dtype in self.extra_keys.items():
            batch[key] = torch.tensor([example[key] for example in examples], dtype=dtype)
        return batch


def with_extra_columns(trainer: DPOTrainer, extra_keys: dict[str, torch.dtype]) -> None:
    """Swap a DPOTrainer's default collator for one that carries `extra_keys` (after TRL resolved padding)."""
    default = trainer.data_collator
    if not isinstance(default, DataCollatorForPreference):
        raise ValueError(f"{type(trainer).__name__} supports text preference data only.")
    trainer.data_collator = DataCollatorWithExtras(
        pad_token_id=default.pad_token_id,
        max_length=default.max_length,
        truncation_mode=default.truncation_mode,
        pad_to_multiple_of=default.pad_to_multiple_of,
        extra_keys=extra_keys,
    )


def dpo_arguments(
    args_cls: type[DPOConfig],
    config: PolicyTrainingConfig,
    output_dir: Path,
    hardware: Hardware,
    **extra: Any,
) -> Any:
    """DPOConfig (or a subclass) for a policy run."""
    return trainer_arguments(args_cls, config, output_dir, hardware, max_length=config.max_length, **extra)


@dataclass
class PreferenceRunPlan:
    """What a DPO-family runner builds for the shared skeleton to train."""

    trainer: DPOTrainer
    eval_dataset: Dataset | None
    criteria: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)


def train_preference_policy(
    config: PolicyTrainingConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None,
    *,
    method: str,
    validate: Callable[[Snapshot], None],
    build: Callable[[Snapshot, PolicySetup, Path], PreferenceRunPlan],
) -> dict[str, Any]:
    """The run skeleton of DPO-family methods: validate, load, build the trainer, train, save, evaluate.

    `validate` checks the config against the snapshot before anything heavy is loaded, so configuration
    errors surface as ValueError in seconds rather than after a model load.
    """
    output_dir = Path(output_dir)
    config.check_paths()
    snapshot = load_snapshot(snapshot_dir)
    validate(snapshot)
    policy = load_policy(config)
    plan = build(snapshot, policy, output_dir)
    outcome = train_with_checkpoints(plan.trainer, output_dir, callbacks or NullCallbacks())
    return finish_policy_run(
        plan.trainer,
        outcome,
        method=method,
        config=config,
        snapshot=snapshot,
        output_dir=output_dir,
        hardware=policy.hardware,
        criteria=plan.criteria,
        eval_dataset=plan.eval_dataset if config.evaluate_on_test else None,
        extra_metrics=plan.metrics,
        parents=plan.parents,
        extra_artifacts=plan.artifacts,
    )


def run_dpo(
    config: DPORunConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Train a policy with DPO on `config.criterion`'s preference pairs."""

    def build(snapshot: Snapshot, policy: PolicySetup, out: Path) -> PreferenceRunPlan:
        train = preference_dataset(
            snapshot.pairs(config.criterion, "train"), conversational=policy.conversational
        )
        test_pairs = snapshot.pairs(config.criterion, "test")
        test = preference_dataset(test_pairs, conversational=policy.conversational) if test_pairs else None
        trainer = DPOTrainer(
            model=policy.model,
            ref_model=policy.ref_model,
            args=dpo_arguments(DPOConfig, config, out, policy.hardware, beta=config.beta),
            train_dataset=train,
            processing_class=policy.tokenizer,
            peft_config=lora_config(config),
        )
        return PreferenceRunPlan(trainer, test, [config.criterion], {"n_train_pairs": len(train)})

    return train_preference_policy(
        config,
        snapshot_dir,
        output_dir,
        callbacks,
        method="dpo",
        validate=lambda snapshot: snapshot.require_criterion(config.criterion),
        build=build,
    )
