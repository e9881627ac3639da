"""Run config of supervised fine-tuning on the chosen responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .base import ConfigFieldError, PolicyTrainingConfig

if TYPE_CHECKING:
    from ..snapshot import Snapshot


@dataclass(kw_only=True)
class SFTRunConfig(PolicyTrainingConfig):
    """Fine-tune on the chosen response of each pair of the given criteria."""

    criteria: list[str] | None = field(
        default=None,
        metadata={
            "help": "Criteria whose chosen responses to learn; None uses every criterion of the snapshot."
        },
    )
    learning_rate: float = field(default=2e-4, metadata={"help": "Peak learning rate of AdamW."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.criteria is not None and not self.criteria:
            raise ConfigFieldError(
                "criteria", "criteria must name at least one criterion, or be None for all of them."
            )

    def selected_criteria(self, snapshot: Snapshot) -> list[str]:
        criteria = list(snapshot.criteria) if self.criteria is None else list(self.criteria)
        for criterion in criteria:
            snapshot.require_criterion(criterion)
        return criteria
