"""Score (prompt, response) texts with a trained reward model, in batches, each distinct text once.

Training (`reward.py`) and scoring share `encode_reward_texts`, so a reward model sees exactly the token
layout at scoring time that it was trained on: the tokenizer's text-pair encoding of prompt and response,
input ids only (the TRL reward collator passes no token type ids, so neither do we). Texts longer than the
token limit are cut and counted, so a run can report how much of its data the model did not see.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase

from .runtime import ARTIFACT_FILE, read_artifact_metadata
from .snapshot import PreferencePair
from .token_limits import model_token_limit, resolve_max_length


@dataclass(frozen=True)
class EncodedTexts:
    """Token ids of (prompt, response) texts, and how many of those texts were cut to the token limit."""

    input_ids: list[list[int]]
    truncated: int


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
        # Over-long texts are expected here: they are cut below, so the tokenizer's warning would mislead.
        verbose=False,
    )
    return encoded["input_ids"]


def encode_reward_texts(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    responses: Sequence[str],
    max_length: int | None,
) -> EncodedTexts:
    """`encode_reward_inputs`, counting the texts that `max_length` cut.

    Texts are encoded whole first; only those over the limit are encoded again with truncation, which on real
    data (a few long responses among many short ones) costs little more than one pass.
    """
    ids = encode_reward_inputs(tokenizer, prompts, responses, None)
    if max_length is None:
        return EncodedTexts(ids, 0)
    long = [index for index, row in enumerate(ids) if len(row) > max_length]
    if long:
        cut = encode_reward_inputs(
            tokenizer, [prompts[i] for i in long], [responses[i] for i in long], max_length
        )
        for index, row in zip(long, cut, strict=True):
            ids[index] = row
    return EncodedTexts(ids, len(long))


def distinct_texts(pairs: Sequence[PreferencePair]) -> dict[tuple[str, str], int]:
    """Position of each distinct (prompt, response) of the pairs' chosen and rejected responses.

    Pairs share responses (five candidates per question give one best/worst pair per criterion), so encoding
    and scoring distinct texts avoids most of the work.
    """
    index: dict[tuple[str, str], int] = {}
    for pair in pairs:
        index.setdefault((pair.prompt, pair.chosen), len(index))
        index.setdefault((pair.prompt, pair.rejected), len(index))
    return index


@dataclass(frozen=True)
class PairTexts:
    """The distinct (prompt, response) texts of some pairs, and the position of each pair's two responses.

    Scores of the texts, in this order, give every pair's rewards by indexing with `chosen` and `rejected`.
    """

    prompts: list[str]
    responses: list[str]
    chosen: torch.Tensor
    rejected: torch.Tensor

    @classmethod
    def of(cls, pairs: Sequence[PreferencePair]) -> PairTexts:
        index = distinct_texts(pairs)
        return cls(
            prompts=[prompt for prompt, _ in index],
            responses=[response for _, response in index],
            chosen=torch.tensor([index[(pair.prompt, pair.chosen)] for pair in pairs], dtype=torch.long),
            rejected=torch.tensor([index[(pair.prompt, pair.rejected)] for pair in pairs], dtype=torch.long),
        )

    def __len__(self) -> int:
        return len(self.prompts)


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str | None:
    """A digest equal for tokenizers that encode alike (fast tokenizers only; None for any other).

    The backend's serialised form holds its vocabulary, normaliser, pre-tokeniser and special-token template;
    its truncation and padding settings are left out, because every call sets them anew.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    state = json.loads(backend.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    serialised = json.dumps(state, sort_keys=True)
    return f"{type(tokenizer).__name__}:{hashlib.sha256(serialised.encode()).hexdigest()}"


# A batch's longest text is at most this much longer than its shortest, so padding adds under a tenth to the
# tokens. On 120 counselling answers of 50 to 512 tokens, fixed batches of 64 added 39% (78% to the attention
# work) and these add 3%; the extra batches fall in the sparse long tail, where lengths spread most.
BATCH_LENGTH_SPREAD = 1.1


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices of `lengths` in batches of similar lengths, shortest first, every index once.

    A batch ends at `batch_size` texts, or before the first text more than `BATCH_LENGTH_SPREAD` times as long
    as its shortest.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for index in order:
        current = batches[-1] if batches else None
        if (
            current is None
            or len(current) == batch_size
            or lengths[index] > BATCH_LENGTH_SPREAD * lengths[current[0]]
        ):
            batches.append([index])
        else:
            current.append(index)
    return batches


class RewardScorer:
    """A reward-model artifact loaded for inference.

    Its token limit is `max_length` if given, else the one the model was trained with (its artifact's
    metadata), else the model's own limit; a limit above what the model can read is refused.
    """

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
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), num_labels=1, dtype=dtype
        )
        self.max_length = resolve_max_length(
            max_length if max_length is not None else metadata.get("max_length"),
            model_token_limit(self.model.config, self.tokenizer),
            model=f"reward model {model_dir}",
        )
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.to(self.device).eval()

    @functools.cached_property
    def encoding_key(self) -> tuple[str, int | None] | None:
        """Equal for scorers whose `encode` gives the same ids: one tokenizer and one token limit.

        Reward models fine-tuned from one backbone share their tokenizer, so texts scored by several of them
        need tokenising only once. None when the tokenizer cannot be fingerprinted.
        """
        fingerprint = tokenizer_fingerprint(self.tokenizer)
        return None if fingerprint is None else (fingerprint, self.max_length)

    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> EncodedTexts:
        if len(prompts) != len(responses):
            raise ValueError(f"Got {len(prompts)} prompts but {len(responses)} responses.")
        return encode_reward_texts(self.tokenizer, prompts, responses, self.max_length)

    @torch.inference_mode()
    def score_encoded(self, encoded: EncodedTexts, *, batch_size: int = 64) -> torch.Tensor:
        """Scalar reward per encoded text, float32 on CPU, in input order.

        Texts run in `length_batches` (similar lengths together), each batch padded to its own longest text.
        Rewards stay on the device until the end: one transfer instead of one wait per batch.
        """
        ids = encoded.input_ids
        if not ids:
            return torch.empty(0, dtype=torch.float32)
        chunks = length_batches([len(row) for row in ids], batch_size)
        batches = []
        for chunk in chunks:
            batch = self.tokenizer.pad({"input_ids": [ids[i] for i in chunk]}, return_tensors="pt").to(
                self.device
            )
            logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            batches.append(logits.squeeze(-1).float())
        scores = torch.empty(len(ids), dtype=torch.float32)
        scores[[index for chunk in chunks for index in chunk]] = torch.cat(batches).cpu()
        return scores

    def score(
        self, prompts: Sequence[str], responses: Sequence[str], *, batch_size: int = 64
    ) -> torch.Tensor:
        """Scalar reward per (prompt, response), float32 on CPU, in input order."""
        return self.score_encoded(self.encode(prompts, responses), batch_size=batch_size)


@dataclass(frozen=True)
class PairwiseScores:
    """Rewards of each pair's chosen and rejected response, and how many distinct texts were cut."""

    chosen: torch.Tensor
    rejected: torch.Tensor
    truncated: int

    def accuracy(self) -> float:
        """Fraction of pairs whose chosen response gets the strictly higher reward."""
        return float((self.chosen > self.rejected).float().mean())

    def loss(self) -> float:
        """RewardTrainer's pairwise loss, mean of -log sigmoid(r_chosen - r_rejected)."""
        return float(torch.nn.functional.softplus(self.rejected - self.chosen).mean())


def score_pair_texts(
    scorer: RewardScorer, pairs: Sequence[PreferencePair], *, batch_size: int = 64
) -> PairwiseScores:
    """Score every pair's chosen and rejected response, each distinct (prompt, response) once."""
    texts = PairTexts.of(pairs)
    encoded = scorer.encode(texts.prompts, texts.responses)
    scores = scorer.score_encoded(encoded, batch_size=batch_size)
    return PairwiseScores(scores[texts.chosen], scores[texts.rejected], encoded.truncated)


def pairwise_accuracy(
    scorer: RewardScorer, pairs: Sequence[PreferencePair], *, batch_size: int = 64
) -> float:
    """Fraction of pairs whose chosen response gets the strictly higher reward."""
    if not pairs:
        raise ValueError("Pairwise accuracy needs at least one pair.")
    return score_pair_texts(scorer, pairs, batch_size=batch_size).accuracy()
