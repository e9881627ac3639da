"""Joint-loss DPO: one policy trained on several criteria's pairs with a weighted sum of their DPO losses.

The loss of a batch is sum_c w_c * DPO_c, where DPO_c is TRL's DPO loss on the batch's pairs of criterion c.
Batches are built balanced (the same number of pairs of every criterion, criteria interleaved round-robin,
read sequentially), so every batch is an unbiased sample of the full objective sum_c w_c E_c[loss]. If a
batch lacks a criterion (e.g. TRL dropped an over-long prompt) the weights of the criteria present are
renormalised, so the loss stays a weighted average.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from .callbacks import RunCallbacks
from .configs import JointRunConfig, validate_weights
from .dpo import (
    PreferenceRunPlan,
    dpo_arguments,
    held_out_sets,
    train_preference_policy,
    with_extra_columns,
)
from .policy import PolicySetup
from .runtime import lora_config
from .snapshot import PreferencePair, Snapshot, preference_dataset


@dataclass
class JointDPOConfig(DPOConfig):
    """TRL `DPOConfig` plus the weight of each criterion, indexed by the dataset's `criterion_index`."""

    criterion_weights: list[float] = field(
        default_factory=lambda: [1.0],
        metadata={"help": "w_c per criterion index; non-negative, summing to 1."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        validate_weights(self.criterion_weights, field="criterion_weights")


class JointDPOTrainer(DPOTrainer):
    """DPOTrainer whose loss is the weighted sum of per-criterion DPO losses within each batch."""

    _tag_names = ["trl", "dpo", "joint-loss"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, JointDPOConfig):
            raise TypeError(f"JointDPOTrainer needs a JointDPOConfig, got {type(self.args).__name__}.")
        self.joint_args: JointDPOConfig = self.args
        with_extra_columns(self, {"criterion_index": torch.long})

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        columns: list[str] = list(self._signature_columns or [])
        if "criterion_index" not in columns:
            # transformers declares this cache as None only, though it holds the forward's column names.
            self._signature_columns = [*columns, "criterion_index"]  # type: ignore[assignment]

    def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
        if return_outputs:
            raise NotImplementedError("JointDPOTrainer computes losses only (prediction_loss_only=True).")
        inputs = dict(inputs)
        criterion_index = inputs.pop("criterion_index")
        pairs = criterion_index.size(0)
        present = criterion_index.unique().tolist()
        weights = self.joint_args.criterion_weights
        total_weight = sum(weights[c] for c in present)
        loss = torch.zeros((), device=self.accelerator.device)
        for c in present:
            rows = (criterion_index == c).nonzero().squeeze(1)
            # TRL stacks chosen rows then rejected rows (2 x pairs); per-pair tensors have `pairs` rows.
            both = torch.cat([rows, rows + pairs])
            sub_batch = {
                key: value[both.to(value.device)]
                if value.size(0) == 2 * pairs
                else value[rows.to(value.device)]
                for key, value in inputs.items()
            }
            loss = loss + (weights[c] / total_weight) * super()._compute_loss(model, sub_batch, False)
        return loss


def balanced_order(
    pairs_by_criterion: list[list[PreferencePair]], per_batch: int, seed: int
) -> list[tuple[int, PreferencePair]]:
    """(criterion index, pair) in batches holding `per_batch` pairs of each criterion.

    Each criterion's pairs are shuffled; smaller criteria are cycled so one pass covers the largest criterion.
    """
    rng = random.Random(seed)
    shuffled = [rng.sample(pairs, len(pairs)) for pairs in pairs_by_criterion]
    rounds = math.ceil(max(len(pairs) for pairs in shuffled) / per_batch)
    order = []
    for round_index in range(rounds):
        for c, pairs in enumerate(shuffled):
            for offset in range(per_batch):
                order.append((c, pairs[(round_index * per_batch + offset) % len(pairs)]))
    return order


def _indexed_dataset(rows: list[tuple[int, PreferencePair]], conversational: bool) -> Dataset:
    dataset = preference_dataset([pair for _, pair in rows], conversational=conversational)
    return dataset.add_column("criterion_index", [c for c, _ in rows])


def run_joint(
    config: JointRunConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Train one policy on several criteria at once with the weighted joint DPO loss."""
    criteria = config.active_criteria()

    def build(snapshot: Snapshot, policy: PolicySetup, out: Path) -> PreferenceRunPlan:
        per_batch = config.per_device_train_batch_size // len(criteria)
        train_rows = balanced_order([snapshot.pairs(c, "train") for c in criteria], per_batch, config.seed)
        # One held-out set per criterion, so the test objective can weight each criterion's mean loss.
        eval_sets, tested = held_out_sets(
            {
                c: _indexed_dataset([(i, pair) for pair in snapshot.pairs(c, "test")], policy.conversational)
                if snapshot.pairs(c, "test")
                else None
                for i, c in enumerate(criteria)
            },
            config.evaluate_on_test,
        )
        args = dpo_arguments(
            JointDPOConfig,
            config,
            out,
            policy.hardware,
            beta=config.beta,
            criterion_weights=[config.criteria_weights[c] for c in criteria],
            # The balanced order is the point: a random sampler would mix batches again.
            train_sampling_strategy="sequential",
        )
        trainer = JointDPOTrainer(
            model=policy.model,
            ref_model=policy.ref_model,
            args=args,
            train_dataset=_indexed_dataset(train_rows, policy.conversational),
            eval_dataset=eval_sets,
            processing_class=policy.tokenizer,
            peft_config=lora_config(config),
        )
        metrics = {"n_train_rows": len(train_rows), "criteria": criteria}
        return PreferenceRunPlan(trainer, criteria, {c: config.criteria_weights[c] for c in tested}, metrics)

    return train_preference_policy(
        config,
        snapshot_dir,
        output_dir,
        callbacks,
        method="joint",
        validate=config.validate_against_snapshot,
        build=build,
    )
