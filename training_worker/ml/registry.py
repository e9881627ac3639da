"""The one list of training methods: each method's config class, runner, label and what the web app needs.

Model choices, the CLI, GPU dispatch, the launch form and launch validation all read this registry, so a
method is added in one place. Importing it loads no torch, transformers or TRL: runners are named as
"module:function" and imported only when a run actually starts (`MethodSpec.load_runner`).
"""

from __future__ import annotations

import dataclasses
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .configs import (
    DPORunConfig,
    GenerationRunConfig,
    JointRunConfig,
    MergeRunConfig,
    MODPORunConfig,
    RewardRunConfig,
    ScoreRunConfig,
    SFTRunConfig,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# runner(config, snapshot_dir, output_dir, callbacks) -> result; see any `run_<method>`.
Runner = Callable[..., dict[str, Any]]

# Launch-form hyper-parameters every trained method accepts.
OPTIMISATION = ("learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "seed")


@dataclass(frozen=True, kw_only=True)
class MethodSpec:
    """One training method as every reader of the registry sees it."""

    key: str = field(metadata={"help": "Stored value of `TrainingRun.method` and the CLI's --method."})
    label: str = field(metadata={"help": "Human name (the model choice's label)."})
    config_class: type[DataclassInstance] = field(metadata={"help": "The method's run-config dataclass."})
    runner: str = field(metadata={"help": "'module:function' of the runner, imported when a run starts."})
    needs_snapshot: bool = field(default=True, metadata={"help": "Trains or reads a frozen snapshot."})
    produces_policy: bool = field(
        default=False,
        metadata={"help": "Its artifact is a policy: a parent for policy methods, and mergeable."},
    )
    policy_field: str | None = field(
        default=None, metadata={"help": "Config field that takes the starting policy, if it starts from one."}
    )
    uses_criterion: bool = field(default=False, metadata={"help": "Trains on one (primary) criterion."})
    weights_field: str | None = field(
        default=None, metadata={"help": "Config field of the objective weights, if it takes them."}
    )
    uses_margin_reward_models: bool = field(
        default=False, metadata={"help": "Takes reward models of other criteria for its margin (MODPO)."}
    )
    merges_policies: bool = field(default=False, metadata={"help": "Takes trained policies to merge."})
    launchable: bool = field(
        default=True, metadata={"help": "Researchers launch it from the form and API (scoring is internal)."}
    )
    hyper_parameters: tuple[str, ...] = field(
        default=(), metadata={"help": "Launch form fields the method accepts as hyper-parameters."}
    )
    form_fields: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={"help": "Config field -> launch form field, where their names differ."},
    )

    def load_runner(self) -> Runner:
        """Import the runner (and with it the ML stack)."""
        runner: Runner = pkgutil.resolve_name(self.runner)
        return runner

    def form_field(self, config_field: str) -> str:
        """The launch form field a config field's error belongs to."""
        return self.form_fields.get(config_field, config_field)

    def config_help(self, config_field: str) -> str:
        """The help text of one of the config's fields ("" when it has none)."""
        return str(self._config_field(config_field).metadata.get("help", ""))

    def is_required(self, config_field: str) -> bool:
        """Whether the config has no default for this field."""
        item = self._config_field(config_field)
        return item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING

    def _config_field(self, name: str) -> dataclasses.Field[Any]:
        for item in dataclasses.fields(self.config_class):
            if item.name == name:
                return item
        raise KeyError(f"{self.config_class.__name__} has no field {name!r}.")


METHODS: Mapping[str, MethodSpec] = MappingProxyType(
    {
        spec.key: spec
        for spec in (
            MethodSpec(
                key="reward",
                label="Reward model",
                config_class=RewardRunConfig,
                runner="training_worker.ml.reward:run_reward",
                uses_criterion=True,
                hyper_parameters=(*OPTIMISATION, "backbone"),
            ),
            MethodSpec(
                key="sft",
                label="SFT",
                config_class=SFTRunConfig,
                runner="training_worker.ml.sft:run_sft",
                hyper_parameters=(*OPTIMISATION, "lora_r"),
                policy_field="base_model",
                produces_policy=True,
            ),
            MethodSpec(
                key="dpo",
                label="DPO",
                config_class=DPORunConfig,
                runner="training_worker.ml.dpo:run_dpo",
                uses_criterion=True,
                hyper_parameters=(*OPTIMISATION, "lora_r", "beta"),
                policy_field="base_model",
                produces_policy=True,
            ),
            MethodSpec(
                key="modpo",
                label="MODPO",
                config_class=MODPORunConfig,
                runner="training_worker.ml.modpo:run_modpo",
                uses_criterion=True,
                weights_field="weights",
                uses_margin_reward_models=True,
                hyper_parameters=(*OPTIMISATION, "lora_r", "beta"),
                form_fields=MappingProxyType({"margin_reward_models": "margin_reward_runs"}),
                policy_field="base_model",
                produces_policy=True,
            ),
            MethodSpec(
                key="joint",
                label="Joint-loss DPO",
                config_class=JointRunConfig,
                runner="training_worker.ml.joint:run_joint",
                weights_field="criteria_weights",
                hyper_parameters=(*OPTIMISATION, "lora_r", "beta"),
                form_fields=MappingProxyType({"criteria_weights": "weights"}),
                policy_field="base_model",
                produces_policy=True,
            ),
            MethodSpec(
                key="merge",
                label="Merge (DPO soup)",
                config_class=MergeRunConfig,
                runner="training_worker.ml.merge:run_merge",
                needs_snapshot=False,
                produces_policy=True,
                merges_policies=True,
                hyper_parameters=("merge_weights", "t"),
                form_fields=MappingProxyType(
                    {"models": "merge_runs", "method": "merge_method", "weights": "merge_weights"}
                ),
            ),
            MethodSpec(
                key="generate",
                label="Generation",
                config_class=GenerationRunConfig,
                runner="training_worker.ml.generate:run_generation",
                policy_field="policy",
                hyper_parameters=("num_responses", "temperature", "max_new_tokens", "seed"),
                form_fields=MappingProxyType({"policy": "base_model"}),
            ),
            MethodSpec(
                key="score",
                label="Reward-model scoring",
                config_class=ScoreRunConfig,
                runner="training_worker.ml.score:run_score",
                # The items may come from the config instead of a snapshot directory.
                needs_snapshot=False,
                launchable=False,
            ),
        )
    }
)


def method_spec(key: str) -> MethodSpec:
    """The spec of a method; ValueError naming the known methods for anything else."""
    try:
        return METHODS[key]
    except KeyError:
        raise ValueError(f"Unknown method {key!r}; expected one of {', '.join(METHODS)}.") from None


def policy_methods() -> list[str]:
    """Keys of the methods whose artifact is a policy (a parent to start from, or an input to a merge)."""
    return [spec.key for spec in METHODS.values() if spec.produces_policy]


def launchable_methods() -> list[MethodSpec]:
    """Methods a researcher launches from the form or the API, in registry order."""
    return [spec for spec in METHODS.values() if spec.launchable]
