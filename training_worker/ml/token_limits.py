"""A model's token limit, and the `max_length` a run uses within it.

Models with learned position embeddings (BERT, RoBERTa, GPT-2) cannot read past their last position: a longer
input fails deep inside the embeddings ("The expanded size of the tensor (1963) must match ... (512)"). Runs
therefore settle their token limit before any training or scoring: no `max_length` means the model's own
limit, and a `max_length` above it is refused with a message, never silently lowered. Texts cut to the limit
are counted by the code that tokenises them and reported in the run's result.
"""

from __future__ import annotations

from typing import Any

from .configs import ConfigFieldError

# Tokenizers that declare no limit report a huge sentinel (int(1e30)) instead.
_NO_DECLARED_LIMIT = 1_000_000


def model_token_limit(model_config: Any, tokenizer: Any) -> int | None:
    """The most tokens the model reads: the smaller of its position embeddings and its tokenizer's limit.

    RoBERTa-style models keep two position slots for padding (514 embeddings, 512 usable); their tokenizers
    declare the usable 512, which is why the tokenizer's limit counts too. None when neither is known.
    """
    limits = []
    positions = getattr(model_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    declared = getattr(tokenizer, "model_max_length", None)
    if isinstance(declared, int) and 0 < declared < _NO_DECLARED_LIMIT:
        limits.append(declared)
    return min(limits) if limits else None


def resolve_max_length(requested: int | None, limit: int | None, *, model: str) -> int | None:
    """`requested`, or the model's `limit` when none is requested; ConfigFieldError above the limit."""
    if limit is None:
        return requested
    if requested is None:
        return limit
    if requested > limit:
        raise ConfigFieldError(
            "max_length",
            f"max_length {requested} is above the {limit}-token limit of {model}; set at most {limit}, "
            "or leave max_length empty (null) to use the model's limit.",
        )
    return requested
