"""Supervised fine-tuning on the chosen responses (the study's SFT baseline), on TRL's SFTTrainer.

Loss is on the response tokens only (TRL's completion-only loss for prompt-completion data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from .callbacks import NullCallbacks, RunCallbacks
from .configs import SFTRunConfig
from .policy import finish_policy_run, load_policy
from .runtime import lora_config, train_with_checkpoints, trainer_arguments
from .snapshot import completion_dataset, load_snapshot


def held_out_loss(trainer: SFTTrainer, test: Dataset) -> dict[str, float]:
    """The completion loss and token accuracy on the test split, named `test/...`.

    transformers weights each batch's mean loss by its number of examples.
    """
    held_out = trainer.evaluate(eval_dataset=test)
    return {f"test/{key.removeprefix('eval_')}": value for key, value in held_out.items()}


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
        policy=policy,
        criteria=criteria,
        evaluate=(lambda: held_out_loss(trainer, test)) if test is not None else None,
        extra_metrics={"n_train_examples": len(train)},
    )
