"""What an export covers: the snapshot's configuration, the canonical form that enters its content hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SPLITS = ("train", "test")


@dataclass(frozen=True)
class ExportSpec:
    """What to export. `configuration()` is its canonical form (part of the content hash)."""

    response_set_id: int
    criteria_set_id: int
    split: str = "all"
    judge_job_ids: tuple[int, ...] = ()
    campaign_ids: tuple[int, ...] = ()
    pair_strategy: str = "best_worst"
    min_margin: float = 0.0
    objective_weights: dict[str, float] = field(default_factory=dict)
    weights_source: str = "manual"
    include_free_text: bool = False

    def configuration(self) -> dict[str, Any]:
        return {
            "response_set": self.response_set_id,
            "criteria_set": self.criteria_set_id,
            "split": self.split,
            "judge_jobs": sorted(self.judge_job_ids),
            "campaigns": sorted(self.campaign_ids),
            "pair_strategy": self.pair_strategy,
            "min_margin": float(self.min_margin),
            "objective_weights": {key: float(value) for key, value in sorted(self.objective_weights.items())},
            "weights_source": self.weights_source,
            "include_free_text": self.include_free_text,
        }
