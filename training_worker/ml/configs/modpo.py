"""Run config of MODPO: a primary criterion k with weight w_k, margins from reward models of the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .base import ConfigFieldError, require_existing_path, validate_weights
from .dpo import DPORunConfig

if TYPE_CHECKING:
    from ..snapshot import Snapshot


@dataclass
class MarginRewardModel:
    """A reward-model artifact from an earlier `reward` run and the criterion it scores."""

    criterion: str = field(metadata={"help": "Criterion the reward model scores (must match its artifact)."})
    path: str = field(metadata={"help": "The reward run's `model/` directory."})


def _margin_reward_model(spec: MarginRewardModel | dict[str, Any]) -> MarginRewardModel:
    if isinstance(spec, MarginRewardModel):
        return spec
    if not isinstance(spec, dict) or set(spec) != {"criterion", "path"}:
        raise ConfigFieldError(
            "margin_reward_models",
            f"margin_reward_models: each entry needs exactly a criterion and a path, got {spec!r}.",
        )
    return MarginRewardModel(**spec)


@dataclass(kw_only=True)
class MODPORunConfig(DPORunConfig):
    """MODPO on `criterion` (the primary objective k) with margins from reward models of other criteria."""

    margin_reward_models: list[MarginRewardModel] = field(
        default_factory=list,
        metadata={"help": "Reward models r_j (j != k) whose weighted score differences form the margin."},
    )
    weights: dict[str, float] | None = field(
        default=None,
        metadata={
            "help": "Objective weights {criterion: w}, covering the primary criterion and every margin "
            "reward model, summing to 1. None takes the snapshot's survey-derived objective weights for "
            "those criteria, renormalised to sum to 1."
        },
    )
    margin_batch_size: int = field(default=64, metadata={"help": "Batch size for scoring responses."})

    def __post_init__(self) -> None:
        # YAML/JSON configs give plain mappings; typed entries make the rest of the run simpler.
        self.margin_reward_models = [_margin_reward_model(spec) for spec in self.margin_reward_models]
        super().__post_init__()
        if not self.margin_reward_models:
            raise ConfigFieldError(
                "margin_reward_models",
                "margin_reward_models: MODPO needs at least one margin reward model; "
                "without one it is DPO (method 'dpo').",
            )
        criteria = [spec.criterion for spec in self.margin_reward_models]
        if self.criterion in criteria:
            raise ConfigFieldError(
                "margin_reward_models",
                f"margin_reward_models: a reward model scores the primary criterion {self.criterion!r}; "
                "margin reward models must score other criteria.",
            )
        if len(set(criteria)) != len(criteria):
            raise ConfigFieldError(
                "margin_reward_models",
                f"margin_reward_models: each criterion may have one reward model, got {criteria}.",
            )
        if self.margin_batch_size < 1:
            raise ConfigFieldError(
                "margin_batch_size", f"margin_batch_size must be at least 1, got {self.margin_batch_size}."
            )
        if self.weights is not None:
            self._validate_weights(self.weights)

    def objective_criteria(self) -> list[str]:
        """The primary criterion, then the margin reward models' criteria."""
        return [self.criterion, *(spec.criterion for spec in self.margin_reward_models)]

    def _validate_weights(self, weights: dict[str, float]) -> None:
        expected = set(self.objective_criteria())
        if set(weights) != expected:
            raise ConfigFieldError(
                "weights",
                f"weights must cover exactly the primary criterion and the margin reward models' criteria "
                f"{sorted(expected)}, got {sorted(weights)}.",
            )
        validate_weights(weights, field="weights", what="MODPO weights")
        if weights[self.criterion] <= 0:
            raise ConfigFieldError(
                "weights",
                f"weights: w_k must be positive (w_k > 0) for the primary criterion {self.criterion!r}, "
                f"got {weights[self.criterion]}.",
            )

    def check_paths(self) -> None:
        super().check_paths()
        for spec in self.margin_reward_models:
            require_existing_path(spec.path, what=f"margin reward model for {spec.criterion!r}")

    def resolved_weights(self, snapshot: Snapshot) -> dict[str, float]:
        """The weights to train with: the configured ones, or the snapshot's restricted and renormalised."""
        if self.weights is not None:
            return dict(self.weights)
        wanted = self.objective_criteria()
        missing = [c for c in wanted if c not in snapshot.objective_weights]
        if missing:
            raise ConfigFieldError(
                "weights", f"weights not given and the snapshot has no objective weight for {missing}."
            )
        total = sum(snapshot.objective_weights[c] for c in wanted)
        if total <= 0:
            raise ConfigFieldError(
                "weights", f"The snapshot's objective weights for {wanted} sum to {total}; cannot normalise."
            )
        weights = {c: snapshot.objective_weights[c] / total for c in wanted}
        self._validate_weights(weights)
        return weights

    def validate_against_snapshot(self, snapshot: Snapshot) -> None:
        """Every criterion must belong to the snapshot's criteria set, and the weights must resolve."""
        snapshot.require_criterion(self.criterion)
        for spec in self.margin_reward_models:
            if spec.criterion not in snapshot.criteria:
                raise ConfigFieldError(
                    "margin_reward_models",
                    f"margin_reward_models: criterion {spec.criterion!r} is not in the snapshot's "
                    f"criteria set {snapshot.criteria_set_key!r} ({', '.join(snapshot.criteria)}).",
                )
        self.resolved_weights(snapshot)
