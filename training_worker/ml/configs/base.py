"""What every method's run config shares, in TRL's style: dataclasses with help text and validation.

A run config is what the web app (or a YAML/JSON file for the CLI) sends to the GPU worker. It is validated
in `__post_init__` without touching the file system, because configs are also built and checked on the web
side where model paths do not exist; paths are checked by `check_paths()` right before training. A failed
check raises `ConfigFieldError` naming the field, so the web side can show the message next to it.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
import types
import typing
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

WEIGHT_TOLERANCE = 1e-6
PRECISIONS = ("auto", "fp32", "bf16")
# The splits of an exported snapshot (kept here so that configs can name them without loading datasets).
SPLITS = ("train", "test")

ConfigT = TypeVar("ConfigT", bound="DataclassInstance")


class ConfigFieldError(ValueError):
    """A run config value is invalid; `field` names the dataclass field the message is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def validate_weights(weights: dict[str, float] | list[float], *, field: str, what: str = "") -> None:
    """Weights must be finite, non-negative and sum to 1 (within `WEIGHT_TOLERANCE`)."""
    what = what or field
    values = list(weights.values()) if isinstance(weights, dict) else list(weights)
    if not values:
        raise ConfigFieldError(field, f"{what}: at least one weight is required.")
    for value in values:
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigFieldError(field, f"{what}: weight {value!r} is not a finite number.")
        if value < 0:
            raise ConfigFieldError(field, f"{what}: weights must be non-negative, got {weights}.")
    total = sum(values)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise ConfigFieldError(field, f"{what}: weights must sum to 1, got {total:.6g} ({weights}).")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigFieldError("precision", f"precision must be one of {PRECISIONS}, got {precision!r}.")


def check_max_length(max_length: int | None) -> None:
    if max_length is not None and max_length < 8:
        raise ConfigFieldError(
            "max_length", f"max_length must be at least 8 tokens or None, got {max_length}."
        )


def require_existing_path(path: str, *, what: str) -> None:
    """Raise ValueError (not a deep library error later) when a configured path is missing."""
    if not Path(path).exists():
        raise ValueError(f"{what} {path!r} does not exist.")


@dataclass(kw_only=True)
class TrainingRunConfig:
    """Settings common to every trained method (optimisation, logging, checkpoints, precision)."""

    seed: int = field(default=0, metadata={"help": "Random seed for data order, initialisation and dropout."})
    max_steps: int = field(
        default=-1, metadata={"help": "Total optimizer steps; -1 trains for `num_train_epochs` instead."}
    )
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the training pairs."})
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of AdamW."})
    lr_scheduler_type: str = field(default="linear", metadata={"help": "transformers scheduler name."})
    warmup_steps: int = field(default=0, metadata={"help": "Linear warm-up steps."})
    per_device_train_batch_size: int = field(default=8, metadata={"help": "Pairs (or examples) per step."})
    per_device_eval_batch_size: int = field(
        default=16, metadata={"help": "Batch size for held-out evaluation."}
    )
    gradient_accumulation_steps: int = field(
        default=1, metadata={"help": "Micro-batches per optimizer step."}
    )
    max_length: int | None = field(
        default=512, metadata={"help": "Maximum tokens of prompt + response; longer sequences are truncated."}
    )
    log_every_steps: int = field(
        default=10, metadata={"help": "Log metrics and report progress to the callbacks every N steps."}
    )
    checkpoint_every_steps: int = field(
        default=100, metadata={"help": "Save a resumable checkpoint into the output directory every N steps."}
    )
    save_total_limit: int | None = field(
        default=2, metadata={"help": "Keep at most this many checkpoints (None keeps all)."}
    )
    precision: str = field(
        default="auto",
        metadata={
            "help": "'fp32', 'bf16' (mixed precision), or 'auto': bf16 on a CUDA GPU with bf16, else fp32."
        },
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Trade compute for memory; worth it only for large models on GPU."}
    )
    evaluate_on_test: bool = field(
        default=True, metadata={"help": "Report metrics on the snapshot's test split after training."}
    )

    def __post_init__(self) -> None:
        if self.max_steps == 0 or self.max_steps < -1:
            raise ConfigFieldError(
                "max_steps", f"max_steps must be positive or -1 (use epochs), got {self.max_steps}."
            )
        if self.max_steps == -1 and self.num_train_epochs <= 0:
            raise ConfigFieldError(
                "num_train_epochs", f"num_train_epochs must be positive, got {self.num_train_epochs}."
            )
        if self.learning_rate <= 0:
            raise ConfigFieldError(
                "learning_rate", f"learning_rate must be positive, got {self.learning_rate}."
            )
        for name in (
            "per_device_train_batch_size",
            "per_device_eval_batch_size",
            "gradient_accumulation_steps",
            "log_every_steps",
            "checkpoint_every_steps",
        ):
            if getattr(self, name) < 1:
                raise ConfigFieldError(name, f"{name} must be at least 1, got {getattr(self, name)}.")
        check_max_length(self.max_length)
        check_precision(self.precision)

    def check_paths(self) -> None:
        """Check that every path the run reads exists (called by the runner before any training)."""


@dataclass(kw_only=True)
class PolicyTrainingConfig(TrainingRunConfig):
    """Settings for training a causal-LM policy (SFT, DPO, MODPO, joint-loss DPO)."""

    base_model: str = field(
        metadata={
            "help": "Directory of the starting policy: a full model, or a LoRA adapter (e.g. an SFT run's "
            "`adapter/`), which is merged into its base so that it becomes the frozen reference."
        }
    )
    use_lora: bool = field(default=True, metadata={"help": "Train a LoRA adapter instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA branch."})
    lora_target_modules: list[str] | str = field(
        default="all-linear", metadata={"help": "Modules that get adapters, or 'all-linear'."}
    )
    load_in_4bit: bool = field(
        default=False,
        metadata={
            "help": "Load the frozen base in 4-bit NF4 (QLoRA). Needs CUDA and bitsandbytes; elsewhere the "
            "run falls back to unquantised weights and records that it did."
        },
    )

    save_merged_model: bool = field(
        default=False,
        metadata={
            "help": "Also save the adapter merged into its base as full weights (`merged/`), e.g. to start "
            "a 4-bit run from this one."
        },
    )
    parent_runs: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={
            "help": "Provenance of the starting policy: [{'run': id, 'sha256': artifact sha256}, ...] as the "
            "launcher knows them; copied into the saved policy's artifact.json."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.base_model:
            raise ConfigFieldError(
                "base_model", "base_model is required: the directory of the starting policy."
            )
        for name in ("lora_r", "lora_alpha"):
            if getattr(self, name) < 1:
                raise ConfigFieldError(name, f"{name} must be at least 1, got {getattr(self, name)}.")
        if not 0 <= self.lora_dropout < 1:
            raise ConfigFieldError(
                "lora_dropout", f"lora_dropout must be in [0, 1), got {self.lora_dropout}."
            )
        if self.load_in_4bit and not self.use_lora:
            raise ConfigFieldError(
                "load_in_4bit",
                "load_in_4bit needs use_lora=True: quantised weights cannot be fine-tuned directly.",
            )
        if not isinstance(self.parent_runs, list) or not all(
            isinstance(parent, dict) and set(parent) == {"run", "sha256"} for parent in self.parent_runs
        ):
            raise ConfigFieldError(
                "parent_runs",
                "parent_runs must be a list of {'run': id, 'sha256': hash} entries, "
                f"got {self.parent_runs!r}.",
            )

    def check_paths(self) -> None:
        super().check_paths()
        require_existing_path(self.base_model, what="base_model")


def config_from_dict(cls: type[ConfigT], data: dict[str, Any]) -> ConfigT:
    """Build a config from plain data (YAML, JSON, the web's dict).

    Unknown keys are refused instead of ignored, a missing required field is named, and every value is
    checked and converted to its field's declared type (`coerce_value`) before the config validates itself,
    so a wrongly typed value gives a `ConfigFieldError` naming the field rather than a TypeError later.
    """
    if not isinstance(data, dict):
        raise ValueError(f"A {cls.__name__} must be a mapping, got {type(data).__name__}.")
    return _build(cls, data, field=None, prefix="")


def _build(cls: type[ConfigT], data: dict[str, Any], *, field: str | None, prefix: str) -> ConfigT:
    """`cls` from `data`; inside another config, errors belong to its `field` and name the `prefix` path."""
    fields = {item.name: item for item in dataclasses.fields(cls) if item.init}
    unknown = sorted(map(str, set(data) - set(fields)))
    if unknown:
        if field is None:
            raise ValueError(f"Unknown {cls.__name__} field(s): {', '.join(unknown)}.")
        raise ConfigFieldError(field, f"{prefix.removesuffix('.')}: unknown field(s) {', '.join(unknown)}.")
    for name, item in fields.items():
        if name not in data and item.default is MISSING and item.default_factory is MISSING:
            help_text = item.metadata.get("help", "")
            raise ConfigFieldError(
                field or name, f"{prefix}{name} is required{': ' + help_text if help_text else '.'}"
            )
    hints = typing.get_type_hints(cls)
    values = {
        name: coerce_value(value, hints[name], field=field or name, path=f"{prefix}{name}")
        for name, value in data.items()
    }
    return cls(**values)


# The spellings of true and false that YAML 1.1, JSON and HTML forms produce as text.
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def coerce_value(value: Any, annotation: Any, *, field: str, path: str) -> Any:
    """`value` converted to `annotation` where that is unambiguous; ConfigFieldError(field) otherwise.

    Numbers may be written as text in any spelling Python reads (YAML 1.1 reads `1e-12` as a string), an
    int is accepted where a float is declared and a whole float where an int is, true/false may be text,
    lists and mappings are checked element by element, and a mapping becomes a nested dataclass. `path`
    locates the value inside the field (`margin_reward_models[0].path`) for the message.
    """
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        return _coerce_union(value, annotation, field=field, path=path)
    if origin is typing.Literal:
        if value in typing.get_args(annotation):
            return value
        raise _mismatch(value, annotation, field=field, path=path)
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, list | tuple):
            raise _mismatch(value, annotation, field=field, path=path)
        (item_type,) = typing.get_args(annotation)[:1] or (Any,)
        return [
            coerce_value(item, item_type, field=field, path=f"{path}[{index}]")
            for index, item in enumerate(value)
        ]
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise _mismatch(value, annotation, field=field, path=path)
        key_type, value_type = typing.get_args(annotation) or (Any, Any)
        return {
            coerce_value(key, key_type, field=field, path=f"{path} key {key!r}"): coerce_value(
                item, value_type, field=field, path=f"{path}[{key!r}]"
            )
            for key, item in value.items()
        }
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise _mismatch(value, annotation, field=field, path=path)
        try:
            return _build(annotation, value, field=field, prefix=f"{path}.")
        except ConfigFieldError:
            raise
        except ValueError as error:
            # A nested config's own validation names its own field; the outer field is the one to show.
            raise ConfigFieldError(field, f"{path}: {error}") from None
    return _coerce_scalar(value, annotation, field=field, path=path)


def _coerce_union(value: Any, annotation: Any, *, field: str, path: str) -> Any:
    members = typing.get_args(annotation)
    if value is None:
        if type(None) in members:
            return None
        raise _mismatch(value, annotation, field=field, path=path)
    candidates = [member for member in members if member is not type(None)]
    # A value already of a member's kind is checked as that member, so its own message (an element of a
    # list, say) is the one shown; otherwise the first member that converts it wins.
    for member in candidates:
        if _is_kind(value, member):
            return coerce_value(value, member, field=field, path=path)
    for member in candidates:
        try:
            return coerce_value(value, member, field=field, path=path)
        except ConfigFieldError:
            continue
    raise _mismatch(value, annotation, field=field, path=path)


def _is_kind(value: Any, annotation: Any) -> bool:
    """Whether `value` is of the annotation's outer type, without converting anything."""
    origin = typing.get_origin(annotation) or annotation
    if origin is bool:
        return isinstance(value, bool)
    if origin in (int, float):
        return isinstance(value, origin) and not isinstance(value, bool)
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin is tuple:
        return isinstance(value, list | tuple)
    return isinstance(origin, type) and isinstance(value, origin)


def _coerce_scalar(value: Any, annotation: Any, *, field: str, path: str) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = value.strip().lower() if isinstance(value, str) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    elif annotation is int:
        number = _number(value)
        if number is not None and (isinstance(number, int) or number.is_integer()):
            return int(number)
    elif annotation is float:
        number = _number(value)
        if number is not None:
            return float(number)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise _mismatch(value, annotation, field=field, path=path)


def _number(value: Any) -> int | float | None:
    """A finite number from a number or its text (`1e-12`, ` 0.1 `, `5`); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def describe_type(annotation: Any) -> str:
    """How a message names a declared type: `a number (float)`, `a list of text (str)`, ..."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(describe_type(member) for member in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in (list, tuple):
        return f"a list of {describe_type(args[0])}" if args else "a list"
    if origin is dict:
        return f"a mapping of {describe_type(args[0])} to {describe_type(args[1])}" if args else "a mapping"
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        keys = ", ".join(item.name for item in dataclasses.fields(annotation))
        return f"a mapping with keys {keys}"
    names = {
        type(None): "null",
        bool: "true or false (bool)",
        int: "a whole number (int)",
        float: "a finite number (float)",
        str: "text (str)",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _mismatch(value: Any, annotation: Any, *, field: str, path: str) -> ConfigFieldError:
    shown = reprlib.repr(value)
    return ConfigFieldError(
        field, f"{path}: expected {describe_type(annotation)}, got {shown} ({type(value).__name__})."
    )


def config_to_dict(config: DataclassInstance) -> dict[str, Any]:
    """JSON-ready view of a config, recorded in every result for lineage."""
    return dataclasses.asdict(config)
