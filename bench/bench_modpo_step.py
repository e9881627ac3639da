"""Benchmark: one MODPO training step against one DPO step, same tiny model, same batch, same process.

A step here is TRL's `training_step` (forward of policy and reference, loss, backward), the part where
MODPO differs from DPO; the optimizer update is identical for both and left out. Prints ms/step of each
and the ratio MODPO / DPO, for LoRA and for full fine-tuning.

    .venv/bin/python bench/bench_modpo_step.py [--pairs 8] [--repeats 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from peft import LoraConfig  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402
from trl import DPOConfig, DPOTrainer  # noqa: E402

from training_worker.ml.modpo import MODPOConfig, MODPOTrainer  # noqa: E402
from training_worker.ml.runtime import load_tokenizer  # noqa: E402
from training_worker.ml.snapshot import load_snapshot, preference_dataset  # noqa: E402
from training_worker.ml.tiny_models import build_tiny_causal_lm  # noqa: E402
from training_worker.ml.toy_data import write_toy_snapshot  # noqa: E402


def _trainer(
    kind: str, lora: bool, model_dir: Path, dataset: Dataset, workdir: Path, pairs: int
) -> DPOTrainer:
    common = {
        "output_dir": str(workdir / kind),
        "per_device_train_batch_size": pairs,
        "max_length": 256,
        "bf16": False,
        "use_cpu": not torch.cuda.is_available(),
        "activation_checkpointing": False,
        "report_to": "none",
        "disable_tqdm": True,
        "seed": 0,
    }
    if kind == "modpo":
        args, trainer_cls = MODPOConfig(objective_weight=0.6, **common), MODPOTrainer
    else:
        args, trainer_cls, dataset = DPOConfig(**common), DPOTrainer, dataset.remove_columns("margin")
    return trainer_cls(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        ref_model=None if lora else AutoModelForCausalLM.from_pretrained(model_dir),
        args=args,
        train_dataset=dataset,
        processing_class=load_tokenizer(model_dir),
        peft_config=LoraConfig(r=8, lora_alpha=16, target_modules="all-linear") if lora else None,
    )


def _step_seconds(trainer: DPOTrainer) -> Callable[[], float]:
    """A closure timing one training step of `trainer` on its first batch."""
    model = trainer.model
    model.train()
    # Set by `Trainer.train()`'s loop, which this benchmark bypasses to time the step alone.
    trainer.current_gradient_accumulation_steps = 1
    batch = next(iter(trainer.get_train_dataloader()))

    def step() -> float:
        start = time.perf_counter()
        trainer.training_step(model, dict(batch))
        model.zero_grad()
        return time.perf_counter() - start

    return step


def _compare(dpo_trainer: DPOTrainer, modpo_trainer: DPOTrainer, repeats: int) -> tuple[float, float]:
    """Median ms/step of each, with steps alternated so that machine noise hits both alike."""
    dpo_step, modpo_step = _step_seconds(dpo_trainer), _step_seconds(modpo_trainer)
    for _ in range(3):  # warm-up
        dpo_step(), modpo_step()
    dpo_times, modpo_times = [], []
    for _ in range(repeats):
        dpo_times.append(dpo_step())
        modpo_times.append(modpo_step())
    return 1000 * statistics.median(dpo_times), 1000 * statistics.median(modpo_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8, help="Pairs per batch.")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = build_tiny_causal_lm(workdir / "policy")
        snapshot = load_snapshot(write_toy_snapshot(workdir / "snapshot", n_questions=args.pairs * 2))
        pairs = snapshot.pairs("empathy", "train")[: args.pairs]
        dataset = preference_dataset(pairs, conversational=True)
        dataset = dataset.add_column("margin", [0.1 * (i % 5 - 2) for i in range(len(pairs))])
        print(f"tiny Llama (2 layers), {len(pairs)} pairs per batch, median of {args.repeats} steps")
        for lora in (True, False):
            dpo, modpo = _compare(
                _trainer("dpo", lora, model_dir, dataset, workdir, len(pairs)),
                _trainer("modpo", lora, model_dir, dataset, workdir, len(pairs)),
                args.repeats,
            )
            label = "LoRA" if lora else "full fine-tune"
            print(
                f"{label:15s} DPO {dpo:7.1f} ms/step   MODPO {modpo:7.1f} ms/step   ratio {modpo / dpo:.3f}"
            )


if __name__ == "__main__":
    main()
