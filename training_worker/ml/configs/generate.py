"""Run config of generation: K sampled responses per question from one policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import SPLITS, ConfigFieldError, check_precision


@dataclass(kw_only=True)
class GenerationRunConfig:
    """Sample responses from one policy."""

    policy: str = field(metadata={"help": "Policy directory: a full model or a LoRA adapter (`adapter/`)."})
    num_responses: int = field(default=5, metadata={"help": "Responses K per question."})
    temperature: float = field(
        default=0.8, metadata={"help": "Sampling temperature; 0 means greedy decoding."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass."})
    max_new_tokens: int = field(default=256, metadata={"help": "Maximum tokens per response."})
    batch_size: int = field(default=8, metadata={"help": "Questions per generate call."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    split: str = field(default="test", metadata={"help": "Snapshot split whose questions to answer."})
    max_questions: int | None = field(default=None, metadata={"help": "Answer only the first N questions."})
    precision: str = field(
        default="auto", metadata={"help": "'fp32', 'bf16' or 'auto' (bf16 on capable GPUs)."}
    )

    def __post_init__(self) -> None:
        if not self.policy:
            raise ConfigFieldError("policy", "policy is required: the directory of the policy to sample.")
        for name in ("num_responses", "max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigFieldError(name, f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.temperature < 0:
            raise ConfigFieldError(
                "temperature", f"temperature must be non-negative, got {self.temperature}."
            )
        if self.temperature == 0 and self.num_responses > 1:
            raise ConfigFieldError(
                "num_responses", "Greedy decoding (temperature 0) gives one response; set num_responses=1."
            )
        if not 0 < self.top_p <= 1:
            raise ConfigFieldError("top_p", f"top_p must be in (0, 1], got {self.top_p}.")
        if self.split not in SPLITS:
            raise ConfigFieldError("split", f"split must be one of {SPLITS}, got {self.split!r}.")
        if self.max_questions is not None and self.max_questions < 1:
            raise ConfigFieldError(
                "max_questions", f"max_questions must be positive or None, got {self.max_questions}."
            )
        check_precision(self.precision)

    def settings(self) -> dict[str, Any]:
        """Sampling settings stored with every response, so each one can be traced and reproduced."""
        return {
            "policy": self.policy,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "seed": self.seed,
            "batch_size": self.batch_size,
        }
