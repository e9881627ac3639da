"""Turn a run spec into a call of the ML package's runner for its method (looked up in the registry).

A run whose output directory already holds its completed result is not run again: a repeated or redelivered
task gets that result back and only re-posts it and its artifacts (uploads of the same bytes are no-ops).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from training_worker.ml.configs import config_from_dict
from training_worker.ml.registry import method_spec
from training_worker.ml.runtime import completed_result

if TYPE_CHECKING:
    from training_worker.ml.callbacks import RunCallbacks

INPUT_PREFIX = "input:"


def resolve_inputs(value: Any, inputs: dict[str, Path]) -> Any:
    """Replace "input:<name>[/sub/path]" anywhere in a config with the local path inside that input."""
    if isinstance(value, str) and value.startswith(INPUT_PREFIX):
        name, _, inner = value.removeprefix(INPUT_PREFIX).partition("/")
        if name not in inputs:
            raise ValueError(f"The config names input {name!r}, which the run does not have.")
        return str(inputs[name] / inner) if inner else str(inputs[name])
    if isinstance(value, dict):
        return {key: resolve_inputs(item, inputs) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_inputs(item, inputs) for item in value]
    return value


def run_method(
    *,
    method: str,
    config: dict[str, Any],
    inputs: dict[str, Path],
    output_dir: Path,
    callbacks: RunCallbacks,
) -> dict[str, Any]:
    spec = method_spec(method)
    typed_config = config_from_dict(spec.config_class, resolve_inputs(config, inputs))
    finished = completed_result(output_dir, typed_config)
    if finished is not None:
        return finished
    return spec.load_runner()(typed_config, inputs.get("snapshot"), output_dir, callbacks)
