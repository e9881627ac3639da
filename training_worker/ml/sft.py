"""Supervised fine-tuning on the chosen responses (the study's SFT baseline), on TRL's SFTTrainer.

Loss is on the response tokens only (TRL's completion-only loss for prompt-completion data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import SFTConfig, SFTTrainer

from .callbacks import NullCallbacks, RunCallbacks
from .config import PolicyTrainingConfig
from .policy import finish_policy_run, load_policy
from .runtime import lora_config, train_with_checkpoints, trainer_arguments
from .snapshot import Snapshot, completion_dataset, load_snapshot


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
            raise ValueError("criteria must name at least one criterion, or be None for all of them.")

    def selected_criteria(self, snapshot: Snapshot) -> list[str]:
        criteria = list(snapshot.criteria) if self.criteria is None else list(self.criteria)
        for criterion in criteria:
            snapshot.require_criterion(criterion)
        return criteria


def run_sft(
    config: SFTRunConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """SFT on chosen responses; identical (prompt, response) rows from several criteria are kept once."""
    output_dir = Path(output_dir)
    config.check_paths()
    snapshot = load_snapshot(snapshot_dir)
    criteria = config.selected_criteria(snapshot)
    policy = load_policy(config)
    conversational = policy.conversational

    def split_dataset(split: str) -> Any:
        pairs = [pair for c in criteria for pair in snapshot.pairs(c, split)]
        return completion_dataset(pairs, conversational=conversational) if pairs else None

    train = split_dataset("train")
    test = split_dataset("test") if config.evaluate_on_test else None
    trainer = SFTTrainer(
        model=policy.model,
        args=trainer_arguments(SFTConfig, config, output_dir, policy.hardware, max_length=config.max_length),
        train_dataset=train,
        processing_class=policy.tokenizer,
        peft_config=lora_config(config),
    )
    outcome = train_with_checkpoints(trainer, output_dir, callbacks or NullCallbacks())
    return finish_policy_run(
        trainer,
        outcome,
        method="sft",
        config=config,
        snapshot=snapshot,
        output_dir=output_dir,
        hardware=policy.hardware,
        criteria=criteria,
        eval_dataset=test,
        extra_metrics={"n_train_examples": len(train)},
    )
