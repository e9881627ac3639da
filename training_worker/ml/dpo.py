"""DPO per criterion on TRL's DPOTrainer, plus what the preference-policy runners (DPO, MODPO, joint) share:
a collator that carries extra per-pair columns, held-out metrics, and the validate-load-build-train-save
skeleton.
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
    """What a DPO-family runner builds for the shared skeleton to train.

    `test_weights` gives each held-out criterion's weight in the objective; the trainer was built with
    `eval_dataset` = {criterion: that criterion's test pairs} for the same criteria.
    """

    trainer: DPOTrainer
    criteria: list[str]
    test_weights: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)


def preference_test_metrics(trainer: DPOTrainer, test_weights: dict[str, float]) -> dict[str, float]:
    """Held-out metrics of a DPO-family trainer, exact per pair, per criterion and for the whole objective.

    For each criterion c: `test/<c>/loss` (the trainer's loss on c's test pairs), `test/<c>/reward_accuracy`
    (share of pairs whose implicit reward prefers the chosen response), `test/<c>/reward_margin` (mean
    chosen-minus-rejected implicit reward) and `test/<c>/pairs`. Each is a mean over pairs: batch means are
    weighted by their pair counts, unlike TRL's logged eval metrics, which average batch means.
    `test/loss` is the training objective sum_c w_c * L_c, over the criteria that have test pairs (weights
    renormalised among them, as the training loss does for a batch). With a single criterion,
    `test/reward_accuracy` and `test/reward_margin` repeat its values.
    """
    model = trainer.model
    if model is None:
        raise ValueError("The trainer has no model to evaluate.")
    was_training = model.training
    model.eval()  # TRL books metrics under "eval" by the model's mode
    metrics: dict[str, float] = {}
    try:
        for criterion in test_weights:
            sums = {"loss": 0.0, "reward_accuracy": 0.0, "reward_margin": 0.0}
            pairs = 0
            for batch in trainer.get_eval_dataloader(criterion):
                n = batch["input_ids"].size(0) // 2  # TRL stacks chosen rows, then rejected rows
                with torch.no_grad(), trainer.compute_loss_context_manager():
                    loss = trainer.compute_loss(model, batch)
                logged = trainer._metrics["eval"]
                sums["loss"] += n * float(loss)
                sums["reward_accuracy"] += n * logged["rewards/accuracies"][-1]
                sums["reward_margin"] += n * logged["rewards/margins"][-1]
                pairs += n
                logged.clear()
            metrics.update({f"test/{criterion}/{key}": total / pairs for key, total in sums.items()})
            metrics[f"test/{criterion}/pairs"] = pairs
    finally:
        model.train(was_training)
    total_weight = sum(test_weights.values())
    metrics["test/loss"] = sum(w * metrics[f"test/{c}/loss"] for c, w in test_weights.items()) / total_weight
    if len(test_weights) == 1:
        (only,) = test_weights
        for key in ("reward_accuracy", "reward_margin"):
            metrics[f"test/{key}"] = metrics[f"test/{only}/{key}"]
    return metrics


def held_out_sets(
    pairs_by_criterion: dict[str, Any], enabled: bool
) -> tuple[dict[str, Dataset] | None, list[str]]:
    """The eval datasets to build a trainer with ({criterion: dataset}, or None) and their criteria."""
    sets = {c: dataset for c, dataset in pairs_by_criterion.items() if enabled and dataset is not None}
    return (sets or None), list(sets)


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
        policy=policy,
        criteria=plan.criteria,
        evaluate=(
            (lambda: preference_test_metrics(plan.trainer, plan.test_weights)) if plan.test_weights else None
        ),
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
        eval_sets, tested = held_out_sets({config.criterion: test}, config.evaluate_on_test)
        trainer = DPOTrainer(
            model=policy.model,
            ref_model=policy.ref_model,
            args=dpo_arguments(DPOConfig, config, out, policy.hardware, beta=config.beta),
            train_dataset=train,
            eval_dataset=eval_sets,
            processing_class=policy.tokenizer,
            peft_config=lora_config(config),
        )
        return PreferenceRunPlan(
            trainer, [config.criterion], {c: 1.0 for c in tested}, {"n_train_pairs": len(train)}
        )

    return train_preference_policy(
        config,
        snapshot_dir,
        output_dir,
        callbacks,
        method="dpo",
        validate=lambda snapshot: snapshot.require_criterion(config.criterion),
        build=build,
    )
