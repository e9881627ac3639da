"""The MODPO loss is the paper's formula, and the margin really reaches it (the study's trainer lost it)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import DPOConfig, DPOTrainer

from training_worker.ml.configs import DPORunConfig, MODPORunConfig
from training_worker.ml.dpo import run_dpo
from training_worker.ml.joint import JointDPOConfig, JointDPOTrainer
from training_worker.ml.modpo import MODPOConfig, MODPOTrainer, run_modpo
from training_worker.ml.runtime import load_tokenizer
from training_worker.ml.snapshot import load_snapshot

# Short texts keep sequence log-probs small, so float32 rounding in TRL stays far below the 1e-6 tolerance.
PAIRS = [
    ("I feel sad.", "I hear you.", "Whatever."),
    ("I cannot sleep.", "That sounds hard.", "Sleep more."),
    ("Work is awful.", "Tell me more.", "Quit."),
    ("I am lonely.", "You matter to me.", "Ok."),
]
BETA = 0.1


def _dataset(extra: dict[str, list]) -> Dataset:
    return Dataset.from_dict(
        {
            "prompt": [[{"role": "user", "content": p}] for p, _, _ in PAIRS],
            "chosen": [[{"role": "assistant", "content": c}] for _, c, _ in PAIRS],
            "rejected": [[{"role": "assistant", "content": r}] for _, _, r in PAIRS],
            **extra,
        }
    )


def _policy(path: Path) -> AutoModelForCausalLM:
    """The tiny LM nudged away from its initial weights, so policy and reference log-probs differ."""
    model = AutoModelForCausalLM.from_pretrained(path)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    return model


def _args(args_cls: type, tmp_path: Path, **kwargs: object) -> DPOConfig:
    return args_cls(
        output_dir=str(tmp_path),
        per_device_train_batch_size=len(PAIRS),
        beta=BETA,
        max_length=64,
        bf16=False,
        use_cpu=True,
        activation_checkpointing=False,
        report_to="none",
        disable_tqdm=True,
        **kwargs,
    )


def _trainer(trainer_cls: type, args: DPOConfig, tiny_lm: Path, dataset: Dataset) -> DPOTrainer:
    return trainer_cls(
        model=_policy(tiny_lm),
        ref_model=AutoModelForCausalLM.from_pretrained(tiny_lm),
        args=args,
        train_dataset=dataset,
        processing_class=load_tokenizer(tiny_lm),
    )


def _first_batch(trainer: DPOTrainer) -> dict[str, torch.Tensor]:
    # Through the real dataloader: TRL's column filtering is what silently dropped margins before.
    return next(iter(trainer.get_train_dataloader()))


def _completion_logps(
    model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probs of the completion tokens, straight from the logits, chosen half then rejected half."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.double()
    token_logps = logits[:, :-1].log_softmax(-1).gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    chosen, rejected = (token_logps * batch["completion_mask"][:, 1:]).sum(-1).chunk(2)
    return chosen, rejected


def _hand_modpo_loss(
    trainer: DPOTrainer, batch: dict[str, torch.Tensor], weight: float, margin: torch.Tensor
) -> torch.Tensor:
    policy_chosen, policy_rejected = _completion_logps(trainer.model, batch)
    ref_chosen, ref_rejected = _completion_logps(trainer.ref_model, batch)
    logratio_difference = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    logits = (BETA / weight) * logratio_difference - margin.double() / weight
    return -torch.log(torch.sigmoid(logits)).mean()


@pytest.mark.parametrize(
    ("weight", "margins"),
    [
        (1.0, [0.0, 0.0, 0.0, 0.0]),
        (0.5, [0.7, -0.3, 1.5, 0.0]),
        (0.25, [2.0, 1.0, -4.0, 0.5]),
        (0.8, [-1.2] * 4),
    ],
)
def test_modpo_loss_matches_hand_formula(
    tiny_lm: Path, tmp_path: Path, weight: float, margins: list[float]
) -> None:
    """loss = -log sigmoid((beta/w_k) * logratio difference - margin/w_k), averaged over the batch."""
    trainer = _trainer(
        MODPOTrainer,
        _args(MODPOConfig, tmp_path, objective_weight=weight),
        tiny_lm,
        _dataset({"margin": margins}),
    )
    batch = _first_batch(trainer)
    assert sorted(batch["margin"].tolist()) == pytest.approx(sorted(margins))
    loss = trainer.compute_loss(trainer.model, dict(batch))
    expected = _hand_modpo_loss(trainer, batch, weight, batch["margin"])
    assert abs(loss.item() - expected.item()) < 1e-6
    # The policy was perturbed, so this is not the trivial log(2) of identical policy and reference.
    assert abs(expected.item() - math.log(2)) > 1e-3


def test_modpo_with_unit_weight_and_zero_margins_is_trl_dpo(tiny_lm: Path, tmp_path: Path) -> None:
    """With w_k = 1 and zero margins MODPO must reduce to TRL's own DPO loss on the same batch."""
    dpo = _trainer(DPOTrainer, _args(DPOConfig, tmp_path / "dpo", seed=3), tiny_lm, _dataset({}))
    modpo = _trainer(
        MODPOTrainer,
        _args(MODPOConfig, tmp_path / "modpo", seed=3, objective_weight=1.0),
        tiny_lm,
        _dataset({"margin": [0.0] * len(PAIRS)}),
    )
    dpo_batch = _first_batch(dpo)
    modpo_batch = _first_batch(modpo)
    assert torch.equal(dpo_batch["input_ids"], modpo_batch["input_ids"])
    dpo_loss = dpo.compute_loss(dpo.model, dict(dpo_batch))
    modpo_loss = modpo.compute_loss(modpo.model, dict(modpo_batch))
    assert abs(dpo_loss.item() - modpo_loss.item()) < 1e-6


def test_modpo_trainer_refuses_batches_without_margins(tiny_lm: Path, tmp_path: Path) -> None:
    trainer = _trainer(MODPOTrainer, _args(MODPOConfig, tmp_path), tiny_lm, _dataset({"margin": [0.0] * 4}))
    batch = _first_batch(trainer)
    del batch["margin"]
    with pytest.raises(ValueError, match="margin"):
        trainer.compute_loss(trainer.model, dict(batch))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objective_weight": 0.0}, "objective_weight"),
        ({"objective_weight": 1.5}, "objective_weight"),
        ({"loss_type": ["hinge"]}, "sigmoid"),
    ],
)
def test_modpo_config_rejects_settings_the_shift_cannot_express(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _args(MODPOConfig, tmp_path, **kwargs)


def test_joint_loss_is_weighted_sum_of_per_criterion_dpo_losses(tiny_lm: Path, tmp_path: Path) -> None:
    """Joint-loss DPO: sum_c w_c * mean DPO loss over the batch's pairs of criterion c."""
    weights = [0.7, 0.3]
    criterion_index = [0, 1, 0, 1]
    trainer = _trainer(
        JointDPOTrainer,
        _args(JointDPOConfig, tmp_path, criterion_weights=weights, train_sampling_strategy="sequential"),
        tiny_lm,
        _dataset({"criterion_index": criterion_index}),
    )
    batch = _first_batch(trainer)
    loss = trainer.compute_loss(trainer.model, dict(batch))
    policy_chosen, policy_rejected = _completion_logps(trainer.model, batch)
    ref_chosen, ref_rejected = _completion_logps(trainer.ref_model, batch)
    per_pair = -torch.log(
        torch.sigmoid(BETA * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)))
    )
    index = torch.tensor(criterion_index)
    expected = sum(w * per_pair[index == c].mean() for c, w in enumerate(weights))
    assert abs(loss.item() - float(expected)) < 1e-6


def test_margin_reaches_the_loss_during_training(
    tiny_lm: Path, snapshot_dir: Path, safety_reward_model: Path, tmp_path: Path
) -> None:
    """First logged loss of MODPO minus that of DPO equals mean(softplus(margin / w_k)) - log 2.

    At the first step the LoRA policy equals its reference, so DPO's loss is log 2 and MODPO's loss depends
    only on the margins: the whole training batch (all pairs) must have reached the loss through the trainer.
    """
    n_train = len(load_snapshot(snapshot_dir).pairs("empathy", "train"))
    common = {
        "base_model": str(tiny_lm),
        "criterion": "empathy",
        "max_steps": 1,
        "per_device_train_batch_size": n_train,
        "log_every_steps": 1,
        "learning_rate": 1e-3,
        "max_length": 256,
        "seed": 7,
        "evaluate_on_test": False,
    }
    dpo = run_dpo(DPORunConfig(**common), snapshot_dir, tmp_path / "dpo")
    weight = 0.6
    modpo = run_modpo(
        MODPORunConfig(
            **common,
            margin_reward_models=[{"criterion": "safety", "path": str(safety_reward_model)}],
            weights={"empathy": weight, "safety": 1 - weight},
        ),
        snapshot_dir,
        tmp_path / "modpo",
    )
    records = [json.loads(line) for line in Path(modpo["artifacts"]["margins"]).read_text().splitlines()]
    margins = [record["margin"] for record in records if record["split"] == "train"]
    assert len(margins) == n_train
    assert max(abs(m) for m in margins) > 0.1, "the reward model should give clearly non-zero margins"
    dpo_first = next(entry["loss"] for entry in _history(dpo) if "loss" in entry)
    modpo_first = next(entry["loss"] for entry in _history(modpo) if "loss" in entry)
    predicted = sum(math.log1p(math.exp(m / weight)) for m in margins) / n_train - math.log(2)
    assert dpo_first == pytest.approx(math.log(2), abs=1e-6)
    assert modpo_first - dpo_first == pytest.approx(predicted, abs=1e-5)


def _history(result: dict) -> list[dict]:
    return json.loads(Path(result["artifacts"]["log_history"]).read_text())
