"""Run config of reward-model scoring: items (single responses or pairs), a reward model per criterion."""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import ConfigFieldError, check_max_length, check_precision

ITEMS_FILE = "items.jsonl"


@dataclass(kw_only=True)
class ScoreRunConfig:
    """Score items, single responses or (response A, response B) pairs, with a reward model per criterion."""

    reward_models: list[dict[str, str]] = field(
        metadata={"help": "One {'criterion': key, 'path': reward-model directory} per criterion scored."}
    )
    items: str | None = field(
        default=None,
        metadata={
            "help": "Items JSONL (a generation run's responses.jsonl is one); default: "
            f"{ITEMS_FILE} in the snapshot directory."
        },
    )
    batch_size: int = field(default=32, metadata={"help": "(prompt, response) texts per forward pass."})
    max_length: int | None = field(
        default=None,
        metadata={
            "help": "Token limit; default: the one each reward model was trained with. Above a model's own "
            "limit it is refused."
        },
    )
    precision: str = field(
        default="auto", metadata={"help": "'fp32', 'bf16' or 'auto' (bf16 on capable GPUs)."}
    )

    def __post_init__(self) -> None:
        if not isinstance(self.reward_models, list) or not self.reward_models:
            raise ConfigFieldError(
                "reward_models", "reward_models must list at least one {'criterion', 'path'} entry."
            )
        seen: set[str] = set()
        for entry in self.reward_models:
            if not isinstance(entry, dict) or not entry.get("criterion") or not entry.get("path"):
                raise ConfigFieldError(
                    "reward_models", f"reward_models: each entry needs a criterion and a path, got {entry!r}."
                )
            if entry["criterion"] in seen:
                raise ConfigFieldError(
                    "reward_models", f"reward_models: Two reward models score {entry['criterion']!r}."
                )
            seen.add(entry["criterion"])
        if self.batch_size < 1:
            raise ConfigFieldError("batch_size", f"batch_size must be at least 1, got {self.batch_size}.")
        check_max_length(self.max_length)
        check_precision(self.precision)
