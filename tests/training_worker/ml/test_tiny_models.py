"""Tiny offline models: deterministic, chat-capable, and usable by TRL without warnings about prompts."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file

from training_worker.ml.runtime import load_tokenizer
from training_worker.ml.tiny_models import build_tiny_causal_lm, minilm_path, reward_backbone_path


def test_same_seed_builds_identical_model(tiny_lm: Path, tmp_path: Path) -> None:
    again = build_tiny_causal_lm(tmp_path / "again", seed=0)
    first, second = load_file(str(tiny_lm / "model.safetensors")), load_file(str(again / "model.safetensors"))
    assert all((first[name] == second[name]).all() for name in first)
    assert load_tokenizer(tiny_lm).get_vocab() == load_tokenizer(again).get_vocab()


def test_different_seed_changes_weights(tiny_lm: Path, second_tiny_lm: Path) -> None:
    first = load_file(str(tiny_lm / "model.safetensors"))
    other = load_file(str(second_tiny_lm / "model.safetensors"))
    assert any(not (first[name] == other[name]).all() for name in first)


def test_rendered_prompt_is_a_token_prefix_of_the_conversation(tiny_lm: Path) -> None:
    """TRL splits prompt from completion by this prefix; the response must also end with EOS."""
    tokenizer = load_tokenizer(tiny_lm)
    prompt = [{"role": "user", "content": "I have been feeling low."}]
    answer = [{"role": "assistant", "content": "That sounds hard."}]
    prompt_ids = tokenizer.apply_chat_template(
        prompt, add_generation_prompt=True, tokenize=True, return_dict=True
    )
    full_ids = tokenizer.apply_chat_template(prompt + answer, tokenize=True, return_dict=True)
    assert full_ids["input_ids"][: len(prompt_ids["input_ids"])] == prompt_ids["input_ids"]
    assert full_ids["input_ids"][-1] == tokenizer.eos_token_id
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    assert tokenizer.padding_side == "left"


def test_reward_backbone_prefers_the_pretrained_minilm(tmp_path: Path) -> None:
    path = reward_backbone_path(tmp_path / "fallback")
    if minilm_path() is not None:
        assert path == minilm_path()
        assert not (tmp_path / "fallback").exists()
    else:
        assert (path / "config.json").is_file()
