"""The method registry: one list of methods, importable by the web app without the ML stack."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from training_worker.ml.configs import ConfigFieldError
from training_worker.ml.registry import METHODS, method_spec

ROOT = Path(__file__).resolve().parents[3]


def test_registry_imports_without_torch_transformers_or_trl() -> None:
    """Blocking the ML stack makes any import of it fail, so this proves the registry never loads it."""
    code = (
        "import sys; sys.modules.update(torch=None, transformers=None, trl=None); "
        "import training_worker.ml.registry as registry; print(' '.join(registry.METHODS))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    methods = completed.stdout.split()
    assert methods == ["reward", "sft", "dpo", "modpo", "joint", "merge", "generate", "score"]


@pytest.mark.parametrize("key", list(METHODS))
def test_every_runner_resolves_to_a_function_taking_its_config(key: str) -> None:
    spec = METHODS[key]
    runner = spec.load_runner()
    assert callable(runner) and runner.__name__ == spec.runner.rpartition(":")[2]
    assert runner.__annotations__["config"] in (spec.config_class, spec.config_class.__name__)


@pytest.mark.parametrize("key", list(METHODS))
def test_every_config_field_has_help_and_every_form_field_mapping_names_a_config_field(key: str) -> None:
    spec = METHODS[key]
    fields = {item.name: item for item in dataclasses.fields(spec.config_class)}
    assert all(item.metadata.get("help") for item in fields.values()), key
    assert set(spec.form_fields) <= set(fields)
    for name in (spec.policy_field, spec.weights_field):
        assert name is None or name in fields


def test_unknown_method_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown method 'ppo'; expected one of reward, sft"):
        method_spec("ppo")


@pytest.mark.parametrize(
    ("key", "config", "field"),
    [
        ("modpo", {"weights": {"empathy": 0.0, "safety": 1.0}}, "weights"),
        ("modpo", {"margin_reward_models": []}, "margin_reward_models"),
        ("dpo", {"beta": -1.0}, "beta"),
        ("joint", {"criteria_weights": {}}, "criteria_weights"),
        ("merge", {"models": ["a"]}, "models"),
        ("generate", {"temperature": -0.5}, "temperature"),
    ],
)
def test_config_errors_name_their_field(key: str, config: dict[str, object], field: str) -> None:
    valid = {
        "modpo": {
            "base_model": "p",
            "criterion": "empathy",
            "margin_reward_models": [{"criterion": "safety", "path": "rm"}],
        },
        "dpo": {"base_model": "p", "criterion": "empathy"},
        "joint": {"base_model": "p", "criteria_weights": {"empathy": 1.0}},
        "merge": {"models": ["a", "b"]},
        "generate": {"policy": "p"},
    }[key]
    spec = METHODS[key]
    spec.config_class(**valid)  # the base case is valid, so the override alone causes the error
    with pytest.raises(ConfigFieldError) as caught:
        spec.config_class(**{**valid, **config})
    assert caught.value.field == field and field in str(caught.value)
