"""Session fixtures for the ML package tests: tiny offline models, toy snapshots and small reward models.

Everything is built once per test session in temporary directories; nothing is downloaded.
"""

from __future__ import annotations

import os

# Before transformers is imported anywhere: the tests must never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest
import torch

from training_worker.ml.configs import RewardRunConfig
from training_worker.ml.reward import run_reward
from training_worker.ml.tiny_models import build_tiny_bert, build_tiny_causal_lm
from training_worker.ml.toy_data import write_toy_snapshot


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_lm(models_dir: Path) -> Path:
    return build_tiny_causal_lm(models_dir / "policy", seed=0)


@pytest.fixture(scope="session")
def tiny_bert(models_dir: Path) -> Path:
    return build_tiny_bert(models_dir / "tiny_bert", seed=0)


@pytest.fixture(scope="session")
def snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_snapshot(tmp_path_factory.mktemp("snapshot") / "therapeutic", n_questions=16, seed=0)


@pytest.fixture(scope="session")
def gricean_snapshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("snapshot") / "gricean"
    return write_toy_snapshot(root, criteria_set="gricean", n_questions=12, seed=1)


def _tiny_reward_model(tiny_bert: Path, snapshot: Path, criterion: str, output: Path) -> Path:
    # A high learning rate on the tiny BERT gives clearly non-zero margins after a handful of steps.
    config = RewardRunConfig(
        criterion=criterion,
        backbone=str(tiny_bert),
        max_steps=6,
        learning_rate=1e-2,
        max_length=128,
        log_every_steps=100,
        checkpoint_every_steps=100,
        evaluate_on_test=False,
    )
    return Path(run_reward(config, snapshot, output)["artifacts"]["model"])


@pytest.fixture(scope="session")
def safety_reward_model(
    tiny_bert: Path, snapshot_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A tiny-BERT reward model for `safety`, trained on the therapeutic snapshot."""
    return _tiny_reward_model(tiny_bert, snapshot_dir, "safety", tmp_path_factory.mktemp("rm_safety"))


@pytest.fixture(scope="session")
def gricean_safety_reward_model(
    tiny_bert: Path, gricean_snapshot_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A `safety` reward model trained on the gricean criteria set (wrong set for therapeutic MODPO)."""
    return _tiny_reward_model(
        tiny_bert, gricean_snapshot_dir, "safety", tmp_path_factory.mktemp("rm_gricean")
    )


@pytest.fixture(scope="session")
def lora_adapters(tiny_lm: Path, models_dir: Path) -> list[Path]:
    """Two LoRA adapters on the tiny LM with random (non-zero) A and B, as two separately trained runs."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from training_worker.ml.runtime import load_tokenizer

    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        base = AutoModelForCausalLM.from_pretrained(tiny_lm)
        config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
        path = models_dir / f"adapter_{seed}"
        get_peft_model(base, config).save_pretrained(path)
        load_tokenizer(tiny_lm).save_pretrained(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def second_tiny_lm(models_dir: Path) -> Path:
    """Same architecture and tokenizer as `tiny_lm`, different random weights."""
    return build_tiny_causal_lm(models_dir / "policy_seed1", seed=1)
