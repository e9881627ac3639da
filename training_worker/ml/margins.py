"""MODPO's margins, computed once before training: sum_j w_j (r_j(x, y_w) - r_j(x, y_l)) for every pair.

`modpo_margins` is the whole step as `run_modpo` takes it (and as `bench/bench_modpo_margins.py` times it).
Its cost follows the distinct texts and the reward models, not the pairs:

- every distinct (prompt, response) is scored once per reward model, however many pairs hold it (with
  several pairs per question, each response recurs);
- texts are tokenised once per distinct tokenizer and token limit: reward models fine-tuned from one backbone
  share both;
- `RewardScorer.score_encoded` runs batches of at most `margin_batch_size` texts of similar length
  (`length_batches`), each padded to its own longest text, under inference mode;
- the reward models run in bf16 when the run's precision is bf16 (`precision: auto` on a CUDA GPU that
  supports it), else in fp32, which on a CPU is the default.

Scores are combined in float64 so the margin does not depend on the order of the reward models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch

from .configs import MODPORunConfig
from .runtime import Hardware
from .scoring import EncodedTexts, PairTexts, RewardScorer
from .snapshot import PreferencePair, Snapshot


class MarginScorer(NamedTuple):
    """A margin reward model r_j: its criterion, the loaded model and its weight w_j."""

    criterion: str
    scorer: RewardScorer
    weight: float


@dataclass
class MarginReport:
    """Margins for a list of pairs, in pair order, with per-reward-model diagnostics."""

    margins: list[float]
    unique_texts: int
    per_model: dict[str, dict[str, float]]


@dataclass
class MODPOMargins:
    """The primary criterion's train and test pairs, and their margins (train pairs first)."""

    train_pairs: list[PreferencePair]
    test_pairs: list[PreferencePair]
    report: MarginReport

    @property
    def train_margins(self) -> list[float]:
        return self.report.margins[: len(self.train_pairs)]

    @property
    def test_margins(self) -> list[float]:
        return self.report.margins[len(self.train_pairs) :]


def load_margin_scorers(
    config: MODPORunConfig, weights: dict[str, float], *, hardware: Hardware
) -> list[MarginScorer]:
    """The config's margin reward models on the run's device, in bf16 if the run trains in bf16."""
    dtype = torch.bfloat16 if hardware.bf16 else torch.float32
    return [
        MarginScorer(
            spec.criterion,
            RewardScorer(spec.path, device=hardware.device, dtype=dtype),
            weights[spec.criterion],
        )
        for spec in config.margin_reward_models
    ]


def compute_margins(
    pairs: Sequence[PreferencePair], reward_models: Sequence[MarginScorer], *, batch_size: int = 64
) -> MarginReport:
    """sum_j w_j (r_j(x, y_w) - r_j(x, y_l)) for each pair, in pair order.

    Each distinct text is scored once per reward model, and tokenised once per distinct `encoding_key`.
    """
    texts = PairTexts.of(pairs)
    encodings: dict[tuple[str, int | None], EncodedTexts] = {}
    margins = torch.zeros(len(pairs), dtype=torch.float64)
    per_model: dict[str, dict[str, float]] = {}
    for criterion, scorer, weight in reward_models:
        key = scorer.encoding_key
        encoded = encodings.get(key) if key is not None else None
        if encoded is None:
            encoded = scorer.encode(texts.prompts, texts.responses)
            if key is not None:
                encodings[key] = encoded
        scores = scorer.score_encoded(encoded, batch_size=batch_size).double()
        difference = scores[texts.chosen] - scores[texts.rejected]
        margins += weight * difference
        per_model[criterion] = {
            "weight": weight,
            "mean_reward_difference": float(difference.mean()) if len(pairs) else 0.0,
            "agreement_with_primary_preference": float((difference > 0).double().mean())
            if len(pairs)
            else 0.0,
            "truncated_texts": encoded.truncated,
        }
    return MarginReport(margins=margins.tolist(), unique_texts=len(texts), per_model=per_model)


def modpo_margins(config: MODPORunConfig, snapshot: Snapshot, *, hardware: Hardware) -> MODPOMargins:
    """The margins of the primary criterion's train and test pairs; the reward models are freed afterwards.

    Train and test pairs are scored in one pass: they share no texts, but one pass halves the batching tail.
    """
    train_pairs = snapshot.pairs(config.criterion, "train")
    test_pairs = snapshot.pairs(config.criterion, "test")
    scorers = load_margin_scorers(config, config.resolved_weights(snapshot), hardware=hardware)
    report = compute_margins([*train_pairs, *test_pairs], scorers, batch_size=config.margin_batch_size)
    return MODPOMargins(train_pairs, test_pairs, report)


def write_margins(path: Path, pairs: Sequence[PreferencePair], margins: Sequence[float]) -> None:
    """Keep the margins the policy was trained with, one line per pair, for audit and analysis."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for pair, margin in zip(pairs, margins, strict=True):
            record = {"question_id": pair.question_id, "split": pair.split, "margin": margin}
            handle.write(json.dumps(record) + "\n")
