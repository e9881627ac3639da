"""Config values from YAML, JSON or the web are converted to their declared types, or refused by field name.

YAML 1.1 reads `1e-12` as a string, JSON writers send `5` for a float, forms send text: every value is
converted where that is unambiguous, and anything else is a `ConfigFieldError` naming the field, the expected
type and the value, never a TypeError from deep inside a config's validation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from training_worker.ml.cli import load_config_file, main
from training_worker.ml.configs import (
    ConfigFieldError,
    MergeRunConfig,
    MODPORunConfig,
    RewardRunConfig,
    ScoreRunConfig,
    config_from_dict,
)
from training_worker.ml.registry import METHODS

# The smallest valid config of each method; the sweep changes one field at a time.
VALID: dict[str, dict[str, Any]] = {
    "reward": {"criterion": "empathy"},
    "sft": {"base_model": "p"},
    "dpo": {"base_model": "p", "criterion": "empathy"},
    "modpo": {
        "base_model": "p",
        "criterion": "empathy",
        "margin_reward_models": [{"criterion": "safety", "path": "rm"}],
    },
    "joint": {"base_model": "p", "criteria_weights": {"empathy": 1.0}},
    "merge": {"models": ["a", "b"]},
    "generate": {"policy": "p"},
    "score": {"reward_models": [{"criterion": "empathy", "path": "rm"}]},
}


def _members(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return (annotation,)


def _takes_mapping(annotation: Any) -> bool:
    return any(
        typing.get_origin(member) is dict or dataclasses.is_dataclass(member)
        for member in _members(annotation)
    )


def _every_field() -> list[tuple[str, str, Any]]:
    return [
        (key, item.name, typing.get_type_hints(spec.config_class)[item.name])
        for key, spec in METHODS.items()
        for item in dataclasses.fields(spec.config_class)
    ]


def test_every_method_has_a_valid_base_config() -> None:
    assert set(VALID) == set(METHODS)
    for key, spec in METHODS.items():
        config_from_dict(spec.config_class, VALID[key])


@pytest.mark.parametrize(("key", "name", "annotation"), _every_field(), ids=lambda v: str(v))
def test_a_wrongly_typed_value_names_its_field(key: str, name: str, annotation: Any) -> None:
    """A mapping where none is declared (or a number where a mapping is) is refused on that field."""
    wrong: Any = 3.5 if _takes_mapping(annotation) else {"wrong": "type"}
    with pytest.raises(ConfigFieldError) as caught:
        config_from_dict(METHODS[key].config_class, {**VALID[key], name: wrong})
    assert caught.value.field == name
    assert str(caught.value).startswith(f"{name}: expected ")
    assert repr(wrong) in str(caught.value)


@pytest.mark.parametrize(
    ("key", "name", "annotation"),
    [
        (key, name, annotation)
        for key, name, annotation in _every_field()
        if {int, float, bool} & set(_members(annotation))
    ],
    ids=lambda v: str(v),
)
def test_text_that_is_no_number_names_field_type_and_value(key: str, name: str, annotation: Any) -> None:
    with pytest.raises(ConfigFieldError) as caught:
        config_from_dict(METHODS[key].config_class, {**VALID[key], name: "fast"})
    expected = {int: "whole number (int)", float: "finite number (float)", bool: "true or false (bool)"}
    message = str(caught.value)
    assert caught.value.field == name and "'fast' (str)" in message
    assert any(text in message for member, text in expected.items() if member in _members(annotation))


@pytest.mark.parametrize(
    ("written", "value"),
    [("1e-12", 1e-12), ("1.0e-5", 1e-5), ("5", 5.0), ("' 0.1 '", 0.1), ("'2E-4'", 2e-4), ("3", 3.0)],
)
def test_yaml_learning_rates_in_any_spelling(tmp_path: Path, written: str, value: float) -> None:
    """`learning_rate: 1e-12` is a string to YAML 1.1; it used to end in a TypeError (`str <= int`)."""
    path = tmp_path / "rm.yaml"
    path.write_text(f"criterion: empathy\nlearning_rate: {written}\n")
    config = config_from_dict(RewardRunConfig, load_config_file(path))
    assert config.learning_rate == value and type(config.learning_rate) is float


def test_ints_bools_optionals_and_nested_mappings_are_converted() -> None:
    data = yaml.safe_load(
        """
        base_model: p
        criterion: empathy
        max_steps: '1e3'
        per_device_train_batch_size: 8.0
        use_lora: 'false'
        gradient_checkpointing: yes
        max_length: null
        save_total_limit: ' 3 '
        lora_target_modules: [q_proj, v_proj]
        margin_reward_models: [{criterion: safety, path: rm}]
        weights: {empathy: '0.7', safety: 3.0e-1}
        """
    )
    config = config_from_dict(MODPORunConfig, data)
    assert (config.max_steps, config.per_device_train_batch_size, config.save_total_limit) == (1000, 8, 3)
    assert type(config.per_device_train_batch_size) is int
    assert (config.use_lora, config.gradient_checkpointing, config.max_length) == (False, True, None)
    assert config.lora_target_modules == ["q_proj", "v_proj"]
    assert config.margin_reward_models[0].path == "rm"
    assert config.weights == {"empathy": 0.7, "safety": 0.3}
    merge = config_from_dict(MergeRunConfig, {"models": ["a", "b"], "weights": [1, "0"]})
    assert merge.weights == [1.0, 0.0]


@pytest.mark.parametrize(
    ("cls", "data", "field", "message"),
    [
        (RewardRunConfig, {"criterion": "e", "max_steps": "2.5"}, "max_steps", "whole number"),
        (RewardRunConfig, {"criterion": "e", "max_steps": True}, "max_steps", r"got True \(bool\)"),
        (RewardRunConfig, {"criterion": "e", "learning_rate": "nan"}, "learning_rate", "finite number"),
        (RewardRunConfig, {"criterion": "e", "learning_rate": 1e400}, "learning_rate", "finite number"),
        (RewardRunConfig, {"criterion": 7}, "criterion", r"expected text \(str\), got 7 \(int\)"),
        (RewardRunConfig, {"learning_rate": 1e-4}, "criterion", "criterion is required"),
        (
            MODPORunConfig,
            {**VALID["modpo"], "margin_reward_models": [{"criterion": "safety"}]},
            "margin_reward_models",
            r"margin_reward_models\[0\]\.path is required",
        ),
        (
            MODPORunConfig,
            {**VALID["modpo"], "margin_reward_models": [{"criterion": "safety", "path": "rm", "w": 1}]},
            "margin_reward_models",
            r"margin_reward_models\[0\]: unknown field\(s\) w",
        ),
        (
            MODPORunConfig,
            {**VALID["modpo"], "weights": {"empathy": "most", "safety": 0.5}},
            "weights",
            r"weights\['empathy'\]: expected a finite number \(float\), got 'most'",
        ),
        (
            ScoreRunConfig,
            {"reward_models": [{"criterion": "empathy", "path": 5}]},
            "reward_models",
            r"reward_models\[0\]\['path'\]: expected text",
        ),
    ],
)
def test_conversion_errors_say_where_what_and_which_value(
    cls: type, data: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigFieldError, match=message) as caught:
        config_from_dict(cls, data)
    assert caught.value.field == field


def test_cli_reports_a_wrongly_typed_value_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "rm.yaml"
    config.write_text("criterion: empathy\nlearning_rate: fast\n")
    argv = ["train", "--method", "reward", "--snapshot", str(tmp_path), "--config", str(config)]
    assert main([*argv, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "learning_rate: expected a finite number (float), got 'fast' (str)" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()
