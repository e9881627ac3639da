"""What every runner shares: hardware decisions, model loading, trainer arguments, the train loop and results.

A runner builds a TRL trainer for its method; `train_with_checkpoints` then resumes from the output
directory's last checkpoint if there is one, forwards progress and cancellation, and `finish_run` writes the
artifacts and a `result.json` whose lineage names the snapshot, the config, the code version and the parents.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peft
import torch
import transformers
import trl
from peft import LoraConfig, PeftModel
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    TrainerState,
)
from transformers.trainer import TRAINER_STATE_NAME

from . import __version__
from .callbacks import NullCallbacks, ProgressCallback, RunCallbacks
from .configs import PolicyTrainingConfig, TrainingRunConfig, config_to_dict
from .lineage import is_adapter_dir, read_lineage
from .snapshot import Snapshot

logger = logging.getLogger(__name__)

ARTIFACT_FILE = "artifact.json"
RESULT_FILE = "result.json"
CHECKPOINT_SUBDIR = "checkpoints"


@dataclass(frozen=True)
class Hardware:
    """Decisions about device, precision and quantisation, recorded in every result."""

    device: str
    precision: str
    quantization: str | None
    notes: tuple[str, ...] = ()

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "precision": self.precision,
            "quantization": self.quantization,
            "notes": list(self.notes),
        }


def resolve_hardware(precision: str, *, load_in_4bit: bool = False) -> Hardware:
    """Pick precision and quantisation that this machine supports, degrading instead of failing."""
    cuda = torch.cuda.is_available()
    notes: list[str] = []
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    elif precision == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        raise ValueError("precision='bf16' was requested but this GPU does not support bfloat16; use 'fp32'.")
    quantization = None
    if load_in_4bit:
        if not cuda:
            notes.append("load_in_4bit ignored: 4-bit loading needs CUDA; trained unquantised.")
        elif importlib.util.find_spec("bitsandbytes") is None:
            notes.append("load_in_4bit ignored: bitsandbytes is not installed; trained unquantised.")
        else:
            quantization = "nf4"
    for note in notes:
        logger.warning(note)
    return Hardware(
        device="cuda" if cuda else "cpu", precision=precision, quantization=quantization, notes=tuple(notes)
    )


def bnb_config(hardware: Hardware) -> transformers.BitsAndBytesConfig | None:
    """The QLoRA quantisation config, when the hardware decision allows one."""
    if hardware.quantization != "nf4":
        return None
    return transformers.BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if hardware.bf16 else torch.float32,
    )


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """Tokenizer of a model or adapter directory, with a pad token (TRL and batching need one)."""
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(
    path: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    hardware: Hardware | None = None,
    base_model: str | None = None,
) -> PreTrainedModel:
    """Load a policy as it was trained: full weights directly, an adapter on top of its whole lineage.

    An adapter is rebuilt as base -> each ancestor adapter merged in order -> its own adapter merged (see
    `lineage`). `base_model` overrides the recorded base reference, for a host that keeps the base elsewhere.
    Merging also makes an adapter-trained parent (e.g. SFT) the frozen starting point of a child run, so a
    LoRA trained on top of it uses that parent as its reference when adapters are disabled.
    """
    quantization_config = bnb_config(hardware) if hardware is not None else None
    if not is_adapter_dir(path):
        return AutoModelForCausalLM.from_pretrained(
            str(path), dtype=dtype, quantization_config=quantization_config
        )
    if quantization_config is not None:
        raise ValueError(
            f"{path} is a LoRA adapter; it cannot be merged into a 4-bit base. Save the parent run with "
            "`save_merged_model=True` and start from its `merged/` directory instead."
        )
    lineage = read_lineage(path, policy_metadata(path))
    model = AutoModelForCausalLM.from_pretrained(base_model or lineage.base_model, dtype=dtype)
    for adapter in (*(ancestor.path for ancestor in lineage.ancestors), Path(path)):
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return model


def policy_dtype(config: PolicyTrainingConfig, hardware: Hardware) -> torch.dtype:
    """Frozen LoRA bases can be stored in bf16; fully trained weights stay fp32 master weights."""
    return torch.bfloat16 if hardware.bf16 and config.use_lora else torch.float32


def lora_config(config: PolicyTrainingConfig, task_type: str = "CAUSAL_LM") -> LoraConfig | None:
    """peft LoRA config from the run config, or None for full fine-tuning."""
    if not config.use_lora:
        return None
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules,
        task_type=task_type,
    )


def trainer_arguments(
    args_cls: type[transformers.TrainingArguments],
    config: TrainingRunConfig,
    output_dir: Path,
    hardware: Hardware,
    **extra: Any,
) -> Any:
    """TRL/transformers arguments for `config`, checkpointing into `<output_dir>/checkpoints`."""
    return args_cls(
        output_dir=str(output_dir / CHECKPOINT_SUBDIR),
        seed=config.seed,
        data_seed=config.seed,
        max_steps=config.max_steps,
        num_train_epochs=config.num_train_epochs,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        activation_checkpointing=config.gradient_checkpointing,
        logging_strategy="steps",
        logging_steps=config.log_every_steps,
        save_strategy="steps",
        save_steps=config.checkpoint_every_steps,
        save_total_limit=config.save_total_limit,
        bf16=hardware.bf16,
        use_cpu=hardware.device == "cpu",
        # Avoids the deprecated extra forward TRL runs to return logits during evaluation.
        prediction_loss_only=True,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        **extra,
    )


@dataclass
class TrainOutcome:
    """How a `trainer.train()` call ended; `reused_checkpoint` when training had already finished before."""

    status: str
    global_step: int
    max_steps: int
    resumed_from: str | None
    train_metrics: dict[str, float] = field(default_factory=dict)
    reused_checkpoint: bool = False


def last_checkpoint(output_dir: Path) -> str | None:
    """The newest complete `checkpoint-N` under `<output_dir>/checkpoints`, if any. A checkpoint without its
    trainer state is one a worker killed while saving left half-written: it is passed over."""
    checkpoint_dir = output_dir / CHECKPOINT_SUBDIR
    if not checkpoint_dir.is_dir():
        return None
    complete = [
        path
        for path in checkpoint_dir.glob("checkpoint-*")
        if path.name.removeprefix("checkpoint-").isdigit() and (path / TRAINER_STATE_NAME).is_file()
    ]
    return (
        str(max(complete, key=lambda path: int(path.name.removeprefix("checkpoint-")))) if complete else None
    )


def finished_checkpoint_state(trainer: transformers.Trainer, checkpoint: str) -> TrainerState | None:
    """The checkpoint's trainer state when it already reached the run's last step, else None.

    The configured `max_steps` decides (a larger one continues training); an epoch-based run (max_steps -1)
    compares with the total the checkpointed run computed.
    """
    state = TrainerState.load_from_json(str(Path(checkpoint) / TRAINER_STATE_NAME))
    target = trainer.args.max_steps if trainer.args.max_steps > 0 else state.max_steps
    return state if state.global_step >= target else None


def train_with_checkpoints(
    trainer: transformers.Trainer, output_dir: Path, callbacks: RunCallbacks | None
) -> TrainOutcome:
    """Train, resuming from the newest checkpoint in `output_dir`; stop early when the callbacks cancel.

    A checkpoint that already reached the last step is never trained further (transformers would take one more
    step on resuming it): its weights are loaded into the trainer's model and the run finishes from there.
    """
    resume_from = last_checkpoint(output_dir)
    finished = finished_checkpoint_state(trainer, resume_from) if resume_from is not None else None
    if resume_from is not None and finished is not None:
        logger.info("%s is at the last step (%s); reused, not trained.", resume_from, finished.global_step)
        # The trainer's own checkpoint loader: the same code path (adapter or full weights) as a resume.
        trainer._load_from_checkpoint(resume_from)
        trainer.state = finished
        return TrainOutcome(
            status="completed",
            global_step=finished.global_step,
            max_steps=finished.max_steps,
            resumed_from=resume_from,
            reused_checkpoint=True,
        )
    progress = ProgressCallback(callbacks or NullCallbacks())
    trainer.add_callback(progress)
    if resume_from is not None:
        logger.info("Resuming from %s", resume_from)
    output = trainer.train(resume_from_checkpoint=resume_from)
    metrics = {k: float(v) for k, v in output.metrics.items() if isinstance(v, int | float)}
    return TrainOutcome(
        status="cancelled" if progress.cancelled else "completed",
        global_step=trainer.state.global_step,
        max_steps=trainer.state.max_steps,
        resumed_from=resume_from,
        train_metrics=metrics,
    )


def write_artifact_metadata(directory: Path, metadata: dict[str, Any]) -> None:
    """Describe an artifact next to its weights, so later runs can validate what they load."""
    (directory / ARTIFACT_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True))


def read_artifact_metadata(directory: str | Path) -> dict[str, Any]:
    """The metadata a runner wrote beside an artifact; ValueError if the directory is not such an artifact."""
    path = Path(directory) / ARTIFACT_FILE
    if not path.is_file():
        raise ValueError(
            f"{directory} is not an artifact written by this package ({ARTIFACT_FILE} is missing)."
        )
    return json.loads(path.read_text())


def policy_metadata(directory: str | Path) -> dict[str, Any]:
    """The metadata beside a policy, or `{}` for a directory this package did not write (e.g. a hub model)."""
    return read_artifact_metadata(directory) if (Path(directory) / ARTIFACT_FILE).is_file() else {}


def save_policy(trainer: transformers.Trainer, output_dir: Path, *, merged: bool) -> dict[str, str]:
    """Save the trained policy: the adapter (LoRA) or full weights, optionally also merged full weights."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    tokenizer = trainer.processing_class
    if tokenizer is None:
        raise ValueError("The trainer has no tokenizer to save with the policy.")
    paths: dict[str, str] = {}
    if isinstance(model, PeftModel):
        adapter_dir = output_dir / "adapter"
        # TRL may add a frozen "ref" adapter when training on top of an existing one; only ours is the result.
        model.save_pretrained(str(adapter_dir), selected_adapters=["default"])
        tokenizer.save_pretrained(str(adapter_dir))
        paths["adapter"] = str(adapter_dir)
        if merged:
            merged_dir = output_dir / "merged"
            model.merge_and_unload().save_pretrained(str(merged_dir))
            tokenizer.save_pretrained(str(merged_dir))
            paths["merged"] = str(merged_dir)
    else:
        model_dir = output_dir / "model"
        model.save_pretrained(str(model_dir))
        tokenizer.save_pretrained(str(model_dir))
        paths["model"] = str(model_dir)
    return paths


def completed_result(output_dir: Path, config: Any) -> dict[str, Any] | None:
    """The result of a run that already completed in `output_dir` with this config, else None.

    Artifact paths are re-rooted at `output_dir`, so an output directory that was moved still answers. A
    completed result whose config differs is an error: the directory belongs to another run. A result whose
    artifacts are gone counts as not completed (the runner then rebuilds them, from its last checkpoint).
    """
    result_path = output_dir / RESULT_FILE
    if not result_path.is_file():
        return None
    result = json.loads(result_path.read_text())
    if result.get("status") != "completed":
        return None
    if result["lineage"]["config"] != json.loads(json.dumps(config_to_dict(config), default=str)):
        raise ValueError(f"{output_dir} holds a completed run with another config; use another directory.")
    # Every artifact of a completed run lies in its output directory, where result.json was written.
    recorded = Path(result["artifacts"]["result"]).parent
    artifacts = {
        name: str(output_dir / Path(location).relative_to(recorded))
        for name, location in result["artifacts"].items()
    }
    if not all(Path(path).exists() for path in artifacts.values()):
        return None
    return {**result, "artifacts": artifacts}


def environment_versions() -> dict[str, str]:
    return {
        "training_worker_ml": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "peft": peft.__version__,
        "python": platform.python_version(),
    }


def finish_run(
    *,
    method: str,
    config: Any,
    snapshot: Snapshot | None,
    output_dir: Path,
    status: str,
    metrics: dict[str, Any],
    artifacts: dict[str, str],
    parents: list[str],
    hardware: Hardware | None = None,
    outcome: TrainOutcome | None = None,
    log_history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Assemble the result dict, write it (and the log history) into `output_dir`, and return it."""
    output_dir.mkdir(parents=True, exist_ok=True)
    if log_history is not None:
        history_path = output_dir / "log_history.json"
        history_path.write_text(json.dumps(log_history, indent=2))
        artifacts = {**artifacts, "log_history": str(history_path)}
    result_path = output_dir / RESULT_FILE
    artifacts = {**artifacts, "result": str(result_path)}
    result: dict[str, Any] = {
        "method": method,
        "status": status,
        "metrics": metrics,
        "artifacts": artifacts,
        "lineage": {
            **(snapshot.lineage() if snapshot is not None else {"snapshot_hash": None}),
            "config": config_to_dict(config),
            "code_version": __version__,
            "versions": environment_versions(),
            "parent_artifacts": parents,
        },
        "hardware": hardware.as_dict() if hardware is not None else None,
    }
    if outcome is not None:
        result["training"] = {
            "global_step": outcome.global_step,
            "max_steps": outcome.max_steps,
            "resumed_from": outcome.resumed_from,
            "reused_checkpoint": outcome.reused_checkpoint,
        }
    result_path.write_text(json.dumps(result, indent=2, default=str))
    return result
