"""Run config of DPO on one criterion's preference pairs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .base import ConfigFieldError, PolicyTrainingConfig


def check_beta(beta: float) -> None:
    if not (isinstance(beta, int | float) and math.isfinite(beta) and beta > 0):
        raise ConfigFieldError("beta", f"beta must be a positive number, got {beta!r}.")


@dataclass(kw_only=True)
class DPORunConfig(PolicyTrainingConfig):
    """Direct preference optimisation on one criterion's pairs."""

    criterion: str = field(metadata={"help": "Criterion whose preference pairs train the policy."})
    beta: float = field(
        default=0.1, metadata={"help": "KL strength of DPO (temperature of the implicit reward)."}
    )
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate of AdamW."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.criterion:
            raise ConfigFieldError("criterion", "criterion is required: the criterion to train on.")
        check_beta(self.beta)
