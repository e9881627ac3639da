"""MODPO margins: the batched, deduplicated precompute equals a per-pair loop, pair by pair, in pair order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from training_worker.ml.configs import MODPORunConfig
from training_worker.ml.margins import (
    MarginScorer,
    compute_margins,
    load_margin_scorers,
    modpo_margins,
)
from training_worker.ml.runtime import Hardware, load_tokenizer, resolve_hardware
from training_worker.ml.scoring import (
    BATCH_LENGTH_SPREAD,
    RewardScorer,
    length_batches,
    score_pair_texts,
    tokenizer_fingerprint,
)
from training_worker.ml.snapshot import PreferencePair, load_snapshot

CPU_FP32 = Hardware(device="cpu", precision="fp32", quantization=None)


def one_reward(scorer: RewardScorer, prompt: str, response: str) -> float:
    """A reward from one unpadded forward of one text: no batching, sorting or deduplication."""
    ids = scorer.encode([prompt], [response]).input_ids
    with torch.inference_mode():
        logits = scorer.model(input_ids=torch.tensor(ids, device=scorer.device)).logits
    return float(logits.float().squeeze())


def per_pair_margins(pairs: list[PreferencePair], models: list[MarginScorer]) -> list[float]:
    return [
        sum(
            weight * (one_reward(scorer, p.prompt, p.chosen) - one_reward(scorer, p.prompt, p.rejected))
            for _, scorer, weight in models
        )
        for p in pairs
    ]


class Counted:
    """Counts the texts each scorer's model forwards and the texts each scorer tokenises."""

    def __init__(self, scorers: list[RewardScorer]) -> None:
        self.forwarded = {id(s): 0 for s in scorers}
        self.encoded = {id(s): 0 for s in scorers}
        self.scorers = scorers

    def hook(self, scorer: RewardScorer) -> Any:
        def count(_module: Any, _args: Any, kwargs: dict[str, Any], _output: Any) -> None:
            self.forwarded[id(scorer)] += kwargs["input_ids"].shape[0]

        return count

    def __enter__(self) -> Counted:
        self.handles = [s.model.register_forward_hook(self.hook(s), with_kwargs=True) for s in self.scorers]
        for scorer in self.scorers:
            original = scorer.encode

            def encode(prompts: Any, responses: Any, _s: RewardScorer = scorer, _o: Any = original) -> Any:
                self.encoded[id(_s)] += len(prompts)
                return _o(prompts, responses)

            scorer.encode = encode  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()
        for scorer in self.scorers:
            del scorer.encode


@pytest.fixture
def recurring_pairs(snapshot_dir: Path) -> list[PreferencePair]:
    """Pairs of three criteria over the same five responses per question, so texts recur across pairs."""
    snapshot = load_snapshot(snapshot_dir)
    pairs = [p for criterion in ("empathy", "trust_rapport", "overall") for p in snapshot.pairs(criterion)]
    # One response far longer than the rest, so length-sorted batches pad very unequal texts together.
    first = pairs[0]
    long_pair = PreferencePair(
        first.question_id, first.prompt, first.chosen + " I hear you." * 40, first.rejected, "train", "x"
    )
    return [*pairs, long_pair]


@pytest.fixture
def margin_models(
    safety_reward_model: Path, gricean_safety_reward_model: Path
) -> Iterator[list[MarginScorer]]:
    """Two reward models fine-tuned from one backbone (one tokenizer), and one with a shorter token limit."""
    yield [
        MarginScorer("safety", RewardScorer(safety_reward_model, device="cpu"), 0.5),
        MarginScorer("gricean", RewardScorer(gricean_safety_reward_model, device="cpu"), 0.3),
        MarginScorer("short", RewardScorer(safety_reward_model, device="cpu", max_length=24), 0.2),
    ]


def test_margins_equal_a_per_pair_loop(
    recurring_pairs: list[PreferencePair], margin_models: list[MarginScorer]
) -> None:
    report = compute_margins(recurring_pairs, margin_models, batch_size=8)
    expected = per_pair_margins(recurring_pairs, margin_models)
    assert max(abs(a - b) for a, b in zip(report.margins, expected, strict=True)) < 1e-5
    # The margins are not trivially equal: the reward models disagree with each other and across pairs.
    assert max(expected) - min(expected) > 1e-2
    # Texts cut to a token limit are cut alike on both paths, and counted per reward model.
    assert report.per_model["short"]["truncated_texts"] > report.per_model["safety"]["truncated_texts"]


def test_each_distinct_text_is_scored_once_per_model_and_tokenised_once_per_tokenizer(
    recurring_pairs: list[PreferencePair], margin_models: list[MarginScorer]
) -> None:
    distinct = len({(p.prompt, r) for p in recurring_pairs for r in (p.chosen, p.rejected)})
    assert distinct < 1.5 * len(recurring_pairs)
    scorers = [model.scorer for model in margin_models]
    with Counted(scorers) as counted:
        report = compute_margins(recurring_pairs, margin_models, batch_size=8)
    assert report.unique_texts == distinct
    assert list(counted.forwarded.values()) == [distinct, distinct, distinct]
    # The first two share tokenizer and token limit; the third cuts texts shorter, so it tokenises its own.
    assert scorers[0].encoding_key == scorers[1].encoding_key != scorers[2].encoding_key
    assert list(counted.encoded.values()) == [distinct, 0, distinct]


def test_margins_follow_the_order_of_the_pairs(
    recurring_pairs: list[PreferencePair], margin_models: list[MarginScorer]
) -> None:
    order = list(range(len(recurring_pairs)))
    random.Random(0).shuffle(order)
    shuffled = [recurring_pairs[i] for i in order]
    margins = compute_margins(recurring_pairs, margin_models, batch_size=8).margins
    shuffled_margins = compute_margins(shuffled, margin_models, batch_size=8).margins
    assert shuffled_margins == pytest.approx([margins[i] for i in order], abs=1e-6)
    assert len(set(round(m, 4) for m in margins)) > len(margins) // 2


def test_run_margins_cover_train_then_test_pairs_with_the_resolved_weights(
    tiny_lm: Path, safety_reward_model: Path, snapshot_dir: Path
) -> None:
    """`modpo_margins` is what `run_modpo` calls: weights from the snapshot when the config gives none."""
    config = MODPORunConfig(
        base_model=str(tiny_lm),
        criterion="empathy",
        margin_reward_models=[{"criterion": "safety", "path": str(safety_reward_model)}],
        margin_batch_size=4,
    )
    snapshot = load_snapshot(snapshot_dir)
    result = modpo_margins(config, snapshot, hardware=CPU_FP32)
    assert result.train_pairs == snapshot.pairs("empathy", "train")
    assert result.test_pairs == snapshot.pairs("empathy", "test") != []
    weight = config.resolved_weights(snapshot)["safety"]
    assert 0 < weight < 1
    scorer = RewardScorer(safety_reward_model, device="cpu")
    for pairs, margins in (
        (result.train_pairs, result.train_margins),
        (result.test_pairs, result.test_margins),
    ):
        expected = per_pair_margins(pairs, [MarginScorer("safety", scorer, weight)])
        assert margins == pytest.approx(expected, abs=1e-5)
    scored = score_pair_texts(scorer, [*result.train_pairs, *result.test_pairs])
    assert result.report.per_model["safety"]["mean_reward_difference"] == pytest.approx(
        float((scored.chosen - scored.rejected).double().mean()), abs=1e-6
    )


def test_reward_models_run_in_the_runs_precision(tiny_lm: Path, safety_reward_model: Path) -> None:
    config = MODPORunConfig(
        base_model=str(tiny_lm),
        criterion="empathy",
        margin_reward_models=[{"criterion": "safety", "path": str(safety_reward_model)}],
    )
    weights = {"empathy": 0.5, "safety": 0.5}
    bf16 = Hardware(device="cpu", precision="bf16", quantization=None)
    assert load_margin_scorers(config, weights, hardware=bf16)[0].scorer.model.dtype == torch.bfloat16
    assert load_margin_scorers(config, weights, hardware=CPU_FP32)[0].scorer.model.dtype == torch.float32
    # `precision: auto` keeps fp32 unless a CUDA GPU supports bf16.
    auto = resolve_hardware("auto")
    gpu_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    expected = torch.bfloat16 if gpu_bf16 else torch.float32
    assert load_margin_scorers(config, weights, hardware=auto)[0].scorer.model.dtype == expected


def test_tokenizer_fingerprint_ignores_call_state_and_tells_tokenizers_apart(
    safety_reward_model: Path, tiny_lm: Path
) -> None:
    scorer = RewardScorer(safety_reward_model, device="cpu")
    before = tokenizer_fingerprint(scorer.tokenizer)
    scorer.encode(["a question"], ["an answer " * 100])  # sets the backend's truncation for the call
    assert tokenizer_fingerprint(scorer.tokenizer) == before is not None
    assert tokenizer_fingerprint(load_tokenizer(tiny_lm)) not in (None, before)


def test_length_batches_hold_similar_lengths_and_every_text_once() -> None:
    rng = random.Random(1)
    # Like counselling answers: many short and middling texts, a sparse long tail, a block cut at the limit.
    lengths = [rng.randint(48, 300) for _ in range(150)] + [rng.randint(300, 511) for _ in range(20)]
    lengths += [512] * 30
    batches = length_batches(lengths, batch_size=16)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(1 <= len(batch) <= 16 for batch in batches)
    spans = [[lengths[i] for i in batch] for batch in batches]
    assert all(max(span) <= BATCH_LENGTH_SPREAD * min(span) for span in spans)
    assert [min(span) for span in spans] == sorted(min(span) for span in spans)
    padded = sum(max(span) * len(span) for span in spans)
    assert padded < 1.1 * sum(lengths)
    # The 30 texts cut at the token limit share one length, so they fill whole batches, not 30 small ones.
    assert sum(512 in span for span in spans) <= 3
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        length_batches(lengths, batch_size=0)
