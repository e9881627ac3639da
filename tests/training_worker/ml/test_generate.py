"""K sampled responses per question, batched, traceable to their settings, repeatable with a seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training_worker.ml.helpers import RecordingCallbacks
from training_worker.ml.configs import ConfigFieldError, GenerationRunConfig
from training_worker.ml.generate import generate_responses, run_generation
from training_worker.ml.runtime import load_causal_lm, load_tokenizer
from training_worker.ml.snapshot import load_snapshot
from training_worker.ml.tiny_models import build_tiny_causal_lm


def _config(policy: Path, **overrides: object) -> GenerationRunConfig:
    fields = {
        "policy": str(policy),
        "num_responses": 3,
        "max_new_tokens": 6,
        "batch_size": 2,
        "max_questions": 3,
    }
    return GenerationRunConfig(**{**fields, **overrides})


def test_generation_writes_k_responses_per_question(
    tiny_lm: Path, snapshot_dir: Path, tmp_path: Path
) -> None:
    result = run_generation(_config(tiny_lm), snapshot_dir, tmp_path)
    records = [json.loads(line) for line in Path(result["artifacts"]["responses"]).read_text().splitlines()]
    expected_questions = load_snapshot(snapshot_dir).questions("test")[:3]
    assert result["status"] == "completed"
    assert len(records) == 9
    assert [(r["question_id"], r["index"]) for r in records] == [
        (question_id, index) for question_id, _ in expected_questions for index in range(3)
    ]
    assert all(r["prompt"] == dict(expected_questions)[r["question_id"]] for r in records)
    assert [r["item_id"] for r in records] == [f"{r['question_id']}:{r['index']}" for r in records]
    assert result["metrics"]["truncated_prompts"] == 0 and not any(r["prompt_truncated"] for r in records)
    assert all(r["settings"]["temperature"] == 0.8 and r["settings"]["seed"] == 0 for r in records)
    assert all(isinstance(r["response"], str) for r in records)


def test_generation_is_repeatable_with_a_seed(tiny_lm: Path) -> None:
    model, tokenizer = load_causal_lm(tiny_lm), load_tokenizer(tiny_lm)
    questions = [("q1", "I feel anxious."), ("q2", "My sleep is bad and I worry all night.")]
    first = generate_responses(model, tokenizer, questions, _config(tiny_lm, max_new_tokens=12))
    second = generate_responses(model, tokenizer, questions, _config(tiny_lm, max_new_tokens=12))
    other_seed = generate_responses(model, tokenizer, questions, _config(tiny_lm, max_new_tokens=12, seed=5))
    assert [r["response"] for r in first] == [r["response"] for r in second]
    assert [r["response"] for r in first] != [r["response"] for r in other_seed]


def test_generation_from_adapter_and_cancellation(
    lora_adapters: list[Path], snapshot_dir: Path, tmp_path: Path
) -> None:
    callbacks = RecordingCallbacks(cancel_at_step=2)
    result = run_generation(_config(lora_adapters[0]), snapshot_dir, tmp_path, callbacks)
    # One batch of two questions ran before the cancellation was noticed.
    assert result["status"] == "cancelled"
    assert result["metrics"]["responses"] == 6
    assert callbacks.progress[0][:2] == (1, 2)


def test_prompts_longer_than_the_policy_allows_lose_their_start_and_are_counted(tmp_path: Path) -> None:
    """A 64-position policy with 6 new tokens has room for 58 prompt tokens; longer prompts are cut."""
    policy = build_tiny_causal_lm(tmp_path / "short_policy", max_position_embeddings=64)
    model, tokenizer = load_causal_lm(policy), load_tokenizer(policy)
    long_prompt = "I have not slept properly for weeks and every night the worry comes back. " * 8
    questions = [("short", "I feel anxious."), ("long", long_prompt)]
    config = _config(policy, num_responses=2, max_new_tokens=6)
    records = generate_responses(model, tokenizer, questions, config)
    assert [(r["item_id"], r["prompt_truncated"]) for r in records] == [
        ("short:0", False),
        ("short:1", False),
        ("long:0", True),
        ("long:1", True),
    ]
    assert records[2]["prompt"] == long_prompt  # the record keeps the whole question
    with pytest.raises(ConfigFieldError, match="max_new_tokens 64 leaves no room") as caught:
        generate_responses(model, tokenizer, questions, _config(policy, max_new_tokens=64))
    assert caught.value.field == "max_new_tokens"
