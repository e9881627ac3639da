"""Launching a training run: check everything that can be checked before anything is queued.

A launch request names a method, a frozen dataset snapshot, the criterion or criteria, objective weights and
hyper-parameters, and earlier runs whose artifacts it builds on (an SFT policy, reward models for MODPO
margins, policies to merge). It becomes a run config for the ML package plus the run's inputs, each input a
stored file the GPU worker downloads with its run token. Config values "input:<name>/<path>" point into them.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from core.errors import ApplicationError
from core.models import Status
from training_worker.ml.config import validate_weights
from training_worker.models import RunInput, TrainingMethod, TrainingRun
from training_worker.services import training_run_create, training_run_enqueue

POLICY_METHODS = (TrainingMethod.SFT, TrainingMethod.DPO, TrainingMethod.MODPO, TrainingMethod.JOINT)
TRAINED_POLICY_METHODS = (*POLICY_METHODS, TrainingMethod.MERGE)
POLICY_ARTIFACTS = ("adapter", "model")

# Which hyper-parameters each method's config accepts (the ML package rejects unknown keys).
COMMON = ("learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "seed")
METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    TrainingMethod.REWARD: (*COMMON, "backbone"),
    TrainingMethod.SFT: (*COMMON, "lora_r"),
    TrainingMethod.DPO: (*COMMON, "lora_r", "beta"),
    TrainingMethod.MODPO: (*COMMON, "lora_r", "beta"),
    TrainingMethod.JOINT: (*COMMON, "lora_r", "beta"),
    TrainingMethod.MERGE: ("merge_weights", "t"),
    TrainingMethod.GENERATE: ("num_responses", "temperature", "max_new_tokens", "seed"),
}


class LaunchError(ApplicationError):
    """The request cannot run; `field_errors` name the form fields at fault."""


@dataclass
class LaunchRequest:
    name: str
    method: str
    snapshot: Any = None  # annotation.DatasetSnapshot
    criterion: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    base_model: str = ""
    parent_policy: TrainingRun | None = None
    margin_reward_runs: list[TrainingRun] = field(default_factory=list)
    merge_runs: list[TrainingRun] = field(default_factory=list)
    merge_method: str = "linear"
    hyper: dict[str, Any] = field(default_factory=dict)


def _snapshot_criteria(snapshot) -> list[str]:
    return list(snapshot.manifest.get("criteria_set", {}).get("criteria", []))


def _run_criteria_set(run: TrainingRun) -> str | None:
    return run.result.get("lineage", {}).get("criteria_set", {}).get("key")


def _policy_artifact(run: TrainingRun):
    for name in POLICY_ARTIFACTS:
        artifact = run.artifacts.filter(name=name).first()
        if artifact:
            return artifact
    return None


def _check_base_model(request: LaunchRequest, errors: dict[str, str]) -> None:
    if request.parent_policy is not None:
        return
    path = request.base_model.strip()
    if not path:
        errors["base_model"] = "Give a base model directory, or choose a trained policy to start from."
    elif (path.startswith(("/", ".")) or not settings.ALLOW_HUB_MODELS) and not Path(path).exists():
        errors["base_model"] = f"Base model path {path!r} does not exist."


def validate_launch(request: LaunchRequest) -> None:
    """Raise LaunchError with every problem found; nothing is created when this fails."""
    errors: dict[str, str] = {}
    method = request.method
    if method not in TrainingMethod.values:
        raise LaunchError(field_errors={"method": f"Unknown method {method!r}."})
    if method != TrainingMethod.MERGE and request.snapshot is None:
        errors["snapshot"] = "Choose a frozen dataset snapshot."
    criteria = _snapshot_criteria(request.snapshot) if request.snapshot is not None else []
    if method in (TrainingMethod.REWARD, TrainingMethod.DPO, TrainingMethod.MODPO):
        if not request.criterion:
            errors["criterion"] = "Choose the criterion to train on."
        elif request.snapshot is not None and request.criterion not in criteria:
            errors["criterion"] = (
                f"Snapshot has no {request.criterion!r} preferences (it has: {', '.join(criteria)})."
            )
    if method in (*POLICY_METHODS, TrainingMethod.GENERATE):
        _check_base_model(request, errors)
    if method in (TrainingMethod.MODPO, TrainingMethod.JOINT):
        _check_weights(request, criteria, errors)
    if method == TrainingMethod.MODPO:
        _check_margin_models(request, errors)
    if method == TrainingMethod.MERGE:
        _check_merge(request, errors)
    for run in [request.parent_policy, *request.margin_reward_runs, *request.merge_runs]:
        if run is not None and run.status != Status.SUCCEEDED:
            errors.setdefault(
                "parents", f"Run #{run.pk} has not succeeded, so it has no artifacts to build on."
            )
    beta = request.hyper.get("beta")
    if beta is not None and not (isinstance(beta, int | float) and beta > 0 and math.isfinite(beta)):
        errors["beta"] = "beta must be a positive number."
    if errors:
        raise LaunchError(field_errors=errors)


def _check_weights(request: LaunchRequest, criteria: list[str], errors: dict[str, str]) -> None:
    weights = request.weights
    if not weights:
        if request.method == TrainingMethod.JOINT:
            errors["weights"] = "Joint-loss DPO needs a weight per criterion."
        return
    try:
        validate_weights(weights, what="Objective weights")
    except ValueError as exc:
        errors["weights"] = str(exc)
        return
    unknown = sorted(set(weights) - set(criteria)) if criteria else []
    if unknown:
        errors["weights"] = f"Weights name criteria the snapshot lacks: {', '.join(unknown)}."
    if request.method == TrainingMethod.MODPO:
        if weights.get(request.criterion, 0) <= 0:
            errors["weights"] = (
                f"The primary criterion {request.criterion!r} needs a weight above 0 (w_k > 0)."
            )
        expected = {request.criterion, *(run.config.get("criterion") for run in request.margin_reward_runs)}
        if set(weights) != expected:
            errors["weights"] = (
                f"Give weights for exactly the primary and margin criteria: {sorted(expected)}."
            )


def _check_margin_models(request: LaunchRequest, errors: dict[str, str]) -> None:
    if not request.margin_reward_runs:
        errors["margin_reward_runs"] = "MODPO needs at least one reward model for the margin."
        return
    snapshot_set = request.snapshot.manifest.get("criteria_set", {}).get("key") if request.snapshot else None
    seen = set()
    for run in request.margin_reward_runs:
        criterion = run.config.get("criterion")
        if run.method != TrainingMethod.REWARD:
            errors["margin_reward_runs"] = f"Run #{run.pk} is not a reward model."
        elif criterion == request.criterion:
            errors["margin_reward_runs"] = f"Run #{run.pk} scores the primary criterion {criterion!r}."
        elif criterion in seen:
            errors["margin_reward_runs"] = f"Two reward models score {criterion!r}."
        elif snapshot_set and _run_criteria_set(run) not in (None, snapshot_set):
            errors["margin_reward_runs"] = (
                f"Run #{run.pk} was trained on the {_run_criteria_set(run)!r} criteria set, "
                f"not {snapshot_set!r}."
            )
        seen.add(criterion)


def _check_merge(request: LaunchRequest, errors: dict[str, str]) -> None:
    if len(request.merge_runs) < 2:
        errors["merge_runs"] = "Choose at least two trained policies to merge."
    elif any(run.method not in TRAINED_POLICY_METHODS for run in request.merge_runs):
        errors["merge_runs"] = "Only trained policies (SFT, DPO, MODPO, joint, merge) can be merged."
    if request.merge_method == "slerp" and len(request.merge_runs) != 2:
        errors["merge_runs"] = "SLERP merges exactly two policies."
    weights = request.hyper.get("merge_weights")
    if request.merge_method == "linear" and weights is not None:
        try:
            validate_weights(weights, what="Merge weights")
            if len(weights) != len(request.merge_runs):
                raise ValueError("Give one merge weight per chosen policy.")
        except ValueError as exc:
            errors["merge_weights"] = str(exc)
    t = request.hyper.get("t")
    if request.merge_method == "slerp" and t is not None and not 0 <= t <= 1:
        errors["t"] = "SLERP's t must be between 0 and 1."


def _input_from_file(*, run: TrainingRun, name: str, stored_name: str, sha256: str) -> None:
    item = RunInput(run=run, name=name, sha256=sha256)
    item.file.name = stored_name  # the input reuses the stored file; nothing is copied
    item.save()


def _policy_reference(run: TrainingRun, name: str) -> tuple[str, Any]:
    artifact = _policy_artifact(run)
    if artifact is None:
        raise LaunchError(field_errors={"parents": f"Run #{run.pk} left no policy artifact."})
    return f"input:{name}/{artifact.name}", artifact


def build_config(request: LaunchRequest) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The ML package config, plus (input name, artifact) pairs from parent runs."""
    hyper = {key: value for key, value in request.hyper.items() if key not in ("merge_weights", "t")}
    config: dict[str, Any] = dict(hyper)
    artifacts: list[tuple[str, Any]] = []
    method = request.method
    if method in (*POLICY_METHODS, TrainingMethod.GENERATE):
        if request.parent_policy is not None:
            reference, artifact = _policy_reference(request.parent_policy, "policy")
            artifacts.append(("policy", artifact))
        else:
            reference = request.base_model.strip()
        config["policy" if method == TrainingMethod.GENERATE else "base_model"] = reference
    if method in (TrainingMethod.REWARD, TrainingMethod.DPO, TrainingMethod.MODPO):
        config["criterion"] = request.criterion
    if method == TrainingMethod.MODPO:
        config["margin_reward_models"] = []
        for run in request.margin_reward_runs:
            criterion = run.config["criterion"]
            artifact = run.artifacts.get(name="model")
            artifacts.append((f"rm-{criterion}", artifact))
            config["margin_reward_models"].append(
                {"criterion": criterion, "path": f"input:rm-{criterion}/model"}
            )
        if request.weights:
            config["weights"] = request.weights
    if method == TrainingMethod.JOINT:
        config["criteria_weights"] = request.weights
    if method == TrainingMethod.MERGE:
        config.update(method=request.merge_method, models=[])
        for index, run in enumerate(request.merge_runs):
            reference, artifact = _policy_reference(run, f"model-{index}")
            artifacts.append((f"model-{index}", artifact))
            config["models"].append(reference)
        if request.merge_method == "linear" and request.hyper.get("merge_weights") is not None:
            config["weights"] = request.hyper["merge_weights"]
        if request.merge_method == "slerp" and request.hyper.get("t") is not None:
            config["t"] = request.hyper["t"]
    return config, artifacts


def training_run_launch(*, request: LaunchRequest, created_by: AbstractBaseUser) -> TrainingRun:
    """Validate, create the run with its inputs and lineage, and queue it for a GPU worker."""
    validate_launch(request)
    config, parent_artifacts = build_config(request)
    parents = [
        run for run in [request.parent_policy, *request.margin_reward_runs, *request.merge_runs] if run
    ]
    with transaction.atomic():
        run = training_run_create(
            name=request.name, method=request.method, config=config, created_by=created_by, parents=parents
        )
        if request.snapshot is not None:
            run.snapshot_hash = request.snapshot.content_hash
            run.save(update_fields=["snapshot_hash"])
            _input_from_file(
                run=run,
                name="snapshot",
                stored_name=request.snapshot.archive.name,
                sha256=request.snapshot.archive_sha256,
            )
        for name, artifact in parent_artifacts:
            _input_from_file(run=run, name=name, stored_name=artifact.file.name, sha256=artifact.sha256)
        training_run_enqueue(run=run)
    return run
