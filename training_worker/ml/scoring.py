"""Score (prompt, response) texts with a trained reward model, in batches, each distinct text once.

Training (`reward.py`) and scoring share `encode_reward_inputs`, so a reward model sees exactly the token
layout at scoring time that it was trained on: the tokenizer's text-pair encoding of prompt and response,
input ids only (the TRL reward collator passes no token type ids, so neither do we).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase

from .runtime import ARTIFACT_FILE, read_artifact_metadata
from .snapshot import PreferencePair

DEFAULT_MAX_LENGTH = 512


def encode_reward_inputs(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    responses: Sequence[str],
    max_length: int | None,
) -> list[list[int]]:
    """Token ids of each (prompt, response) as a text pair, truncated longest-first to `max_length`."""
    encoded = tokenizer(
        list(prompts),
        list(responses),
        truncation="longest_first" if max_length is not None else False,
        max_length=max_length,
        return_token_type_ids=False,
        return_attention_mask=False,
    )
    return encoded["input_ids"]


class RewardScorer:
    """A reward-model artifact loaded for inference."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        max_length: int | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        metadata = read_artifact_metadata(model_dir) if (self.model_dir / ARTIFACT_FILE).is_file() else {}
        self.criterion: str | None = metadata.get("criterion")
        self.max_length = max_length or metadata.get("max_length") or DEFAULT_MAX_LENGTH
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), num_labels=1, dtype=dtype
        )
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.to(self.device).eval()

    @torch.inference_mode()
    def score(
        self, prompts: Sequence[str], responses: Sequence[str], *, batch_size: int = 64
    ) -> torch.Tensor:
        """Scalar reward per (prompt, response), float32 on CPU, in input order.

        Inputs are sorted by length before batching so that each batch pads to a similar length; on real
        data with widely varying response lengths this roughly halves the tokens processed.
        """
        if len(prompts) != len(responses):
            raise ValueError(f"Got {len(prompts)} prompts but {len(responses)} responses.")
        ids = encode_reward_inputs(self.tokenizer, prompts, responses, self.max_length)
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        scores = torch.empty(len(ids), dtype=torch.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            batch = self.tokenizer.pad({"input_ids": [ids[i] for i in chunk]}, return_tensors="pt").to(
                self.device
            )
            logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            scores[chunk] = logits.squeeze(-1).float().cpu()
        return scores


def score_pairs(
    scorer: RewardScorer, pairs: Sequence[PreferencePair], *, batch_size: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards of every pair's chosen and rejected response; each distinct (prompt, response) is scored once.

    Pairs share responses (five candidates per question give one best/worst pair per criterion), so scoring
    distinct texts avoids most of the work.
    """
    index: dict[tuple[str, str], int] = {}
    for pair in pairs:
        index.setdefault((pair.prompt, pair.chosen), len(index))
        index.setdefault((pair.prompt, pair.rejected), len(index))
    texts = list(index)
    scores = scorer.score([p for p, _ in texts], [r for _, r in texts], batch_size=batch_size)
    chosen = torch.tensor([index[(pair.prompt, pair.chosen)] for pair in pairs], dtype=torch.long)
    rejected = torch.tensor([index[(pair.prompt, pair.rejected)] for pair in pairs], dtype=torch.long)
    return scores[chosen], scores[rejected]


def pairwise_accuracy(
    scorer: RewardScorer, pairs: Sequence[PreferencePair], *, batch_size: int = 64
) -> float:
    """Fraction of pairs whose chosen response gets the strictly higher reward."""
    if not pairs:
        raise ValueError("Pairwise accuracy needs at least one pair.")
    chosen, rejected = score_pairs(scorer, pairs, batch_size=batch_size)
    return float((chosen > rejected).float().mean())
