"""Run config of joint-loss DPO: one policy, a weighted sum of per-criterion DPO losses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .base import ConfigFieldError, PolicyTrainingConfig, validate_weights
from .dpo import check_beta

if TYPE_CHECKING:
    from ..snapshot import Snapshot


@dataclass(kw_only=True)
class JointRunConfig(PolicyTrainingConfig):
    """Joint-loss DPO over several criteria with weights w_c."""

    criteria_weights: dict[str, float] = field(
        metadata={
            "help": "{criterion: w_c}, non-negative and summing to 1; criteria with w_c = 0 are skipped."
        }
    )
    beta: float = field(default=0.1, metadata={"help": "KL strength of DPO, shared by all criteria."})
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate of AdamW."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.criteria_weights:
            raise ConfigFieldError(
                "criteria_weights", "criteria_weights: joint-loss DPO needs a weight per criterion."
            )
        validate_weights(self.criteria_weights, field="criteria_weights")
        check_beta(self.beta)
        active = self.active_criteria()
        if self.per_device_train_batch_size % len(active):
            raise ConfigFieldError(
                "per_device_train_batch_size",
                f"per_device_train_batch_size ({self.per_device_train_batch_size}) must be a multiple of the "
                f"number of criteria with positive weight ({len(active)}), so every batch is balanced.",
            )

    def active_criteria(self) -> list[str]:
        return [criterion for criterion, weight in self.criteria_weights.items() if weight > 0]

    def validate_against_snapshot(self, snapshot: Snapshot) -> None:
        for criterion in self.criteria_weights:
            snapshot.require_criterion(criterion)
