"""Run config of model merging ("DPO soup"): linear or SLERP merges of trained policies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .base import ConfigFieldError, require_existing_path, validate_weights

MERGE_METHODS = ("linear", "slerp")


@dataclass(kw_only=True)
class MergeRunConfig:
    """Merge two or more trained policies into one."""

    models: list[str] = field(
        metadata={"help": "Policy artifact directories: all LoRA adapters (`adapter/`) or all full models."}
    )
    method: str = field(default="linear", metadata={"help": "'linear' (weighted average) or 'slerp'."})
    weights: list[float] | None = field(
        default=None,
        metadata={
            "help": "Linear merge weights, one per model, non-negative, summing to 1; None is uniform."
        },
    )
    t: float = field(
        default=0.5, metadata={"help": "SLERP position between the first (t=0) and second (t=1) model."}
    )

    def __post_init__(self) -> None:
        if len(self.models) < 2:
            raise ConfigFieldError("models", f"Merging needs at least two models, got {len(self.models)}.")
        if self.method not in MERGE_METHODS:
            raise ConfigFieldError("method", f"method must be one of {MERGE_METHODS}, got {self.method!r}.")
        if self.method == "linear":
            if self.weights is not None:
                if len(self.weights) != len(self.models):
                    raise ConfigFieldError(
                        "weights", f"Got {len(self.weights)} weights for {len(self.models)} models."
                    )
                validate_weights(self.weights, field="weights", what="merge weights")
        else:
            if len(self.models) != 2:
                raise ConfigFieldError("models", f"SLERP merges exactly two models, got {len(self.models)}.")
            if self.weights is not None:
                raise ConfigFieldError("weights", "SLERP takes `t`, not `weights`.")
            if not 0.0 <= self.t <= 1.0 or math.isnan(self.t):
                raise ConfigFieldError("t", f"SLERP t must be in [0, 1], got {self.t}.")

    def linear_weights(self) -> list[float]:
        return self.weights if self.weights is not None else [1.0 / len(self.models)] * len(self.models)

    def check_paths(self) -> None:
        for path in self.models:
            require_existing_path(path, what="model to merge")
