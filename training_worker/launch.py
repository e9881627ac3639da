"""Launching a training run: check everything that can be checked before anything is queued.

A launch request names a method, a frozen dataset snapshot, the criterion or criteria, objective weights and
hyper-parameters, and earlier runs whose artifacts it builds on (an SFT policy, reward models for MODPO
margins, policies to merge). It becomes a run config for the ML package plus the run's inputs, each input a
stored file the GPU worker downloads with its run token. Config values "input:<name>/<path>" point into them.

What a launch needs comes from the method registry. Only what the ML package cannot know is checked here (the
snapshot's criteria, parent runs and their artifacts, model paths on this server); the config itself is
validated by building the method's config dataclass, whose errors are shown on the form field they concern.

The starting model is a :class:`~training_worker.model_picker.ModelChoice`: a registered base model (its path
goes into the config) or a succeeded run's policy (its artifact becomes the input "policy" and the run a
parent). Generation runs are launched through `training_worker.generation`, which also creates the response
set they fill, so the researcher's launch form and API offer only the training methods.
"""

from dataclasses import dataclass, field, fields
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.selectors.snapshots import snapshot_train_pairs
from core.errors import ApplicationError
from core.models import Status
from training_worker.base_models import model_path_problem
from training_worker.ml.configs import ConfigFieldError, config_from_dict
from training_worker.ml.registry import METHODS, MethodSpec, launchable_methods, policy_methods
from training_worker.model_picker import ModelChoice, policy_artifact
from training_worker.models import RunArtifact, RunInput, TrainingMethod, TrainingRun
from training_worker.services import training_run_create, training_run_enqueue

# The form and API field of the starting model (the model picker).
MODEL_FIELD = "model"
# Methods researchers launch from the run form and API: generation fills a response set, so it is launched
# from a question bank or a policy's page (training_worker.generation).
TRAINING_METHODS = [spec for spec in launchable_methods() if spec.key != TrainingMethod.GENERATE]
# Hyper-parameters each of them accepts (the API refuses others; the form shows only these).
METHOD_FIELDS: dict[str, tuple[str, ...]] = {spec.key: spec.hyper_parameters for spec in TRAINING_METHODS}
# The config field each merge method reads; the other one is left out, as the form may carry both.
MERGE_SETTINGS = {"linear": "weights", "slerp": "t"}


class LaunchError(ApplicationError):
    """The request cannot run; `field_errors` name the form fields at fault."""


@dataclass
class LaunchRequest:
    name: str
    method: str
    snapshot: Any = None  # annotation.DatasetSnapshot
    criterion: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    model: ModelChoice | None = None
    margin_reward_runs: list[TrainingRun] = field(default_factory=list)
    merge_runs: list[TrainingRun] = field(default_factory=list)
    merge_method: str = "linear"
    hyper: dict[str, Any] = field(default_factory=dict)


@dataclass
class LaunchPlan:
    """A launch that passed every check: the ML config, and the parent artifacts that become run inputs."""

    config: dict[str, Any]
    inputs: list[tuple[str, RunArtifact]]


def _snapshot_criteria(snapshot: Any) -> list[str]:
    return list(snapshot.manifest.get("criteria_set", {}).get("criteria", []))


def _run_criteria_set(run: TrainingRun) -> str | None:
    return run.result.get("lineage", {}).get("criteria_set", {}).get("key")


def _parent_policy(request: LaunchRequest) -> TrainingRun | None:
    return request.model.run if request.model is not None else None


def _check_pairs(request: LaunchRequest, spec: MethodSpec, errors: dict[str, str]) -> None:
    """What the run trains on must have training pairs in the snapshot: the worker never gets an empty set."""
    pairs = snapshot_train_pairs(snapshot=request.snapshot)
    name = f"Snapshot {request.snapshot.name!r}"
    if not any(pairs.values()):
        errors["snapshot"] = f"{name} has no training pairs at all; freeze one from valid rankings."
        return
    if spec.uses_criterion and not pairs.get(request.criterion, 1):
        errors.setdefault(
            "criterion",
            f"{name} has no training pairs for {request.criterion!r}; choose a criterion it has pairs for "
            f"({', '.join(key for key, n in pairs.items() if n)}).",
        )
    if spec.weights_field and not spec.uses_criterion:
        empty = [key for key, weight in request.weights.items() if weight and not pairs.get(key, 1)]
        if empty:
            errors.setdefault(
                "weights", f"{name} has no training pairs for {', '.join(map(repr, empty))}; weight them 0."
            )


def _check_model(request: LaunchRequest, errors: dict[str, str]) -> None:
    """A starting model is chosen; a registered one is still where it was registered."""
    if request.model is None or (request.model.base_model is None and request.model.run is None):
        errors[MODEL_FIELD] = "Choose a starting model: a registered base model or a trained policy."
    elif request.model.base_model is not None:
        problem = model_path_problem(request.model.base_model.path)
        if problem:
            errors[MODEL_FIELD] = f"{request.model.base_model.name}: {problem}"


def _check_margin_models(request: LaunchRequest, errors: dict[str, str]) -> None:
    """Each margin model must be a reward run trained on the snapshot's criteria set."""
    snapshot_set = request.snapshot.manifest.get("criteria_set", {}).get("key") if request.snapshot else None
    for run in request.margin_reward_runs:
        if run.method != TrainingMethod.REWARD:
            errors["margin_reward_runs"] = f"Run #{run.pk} is not a reward model."
        elif snapshot_set and _run_criteria_set(run) not in (None, snapshot_set):
            errors["margin_reward_runs"] = (
                f"Run #{run.pk} was trained on the {_run_criteria_set(run)!r} criteria set, "
                f"not {snapshot_set!r}."
            )


def _parents(request: LaunchRequest, spec: MethodSpec) -> list[TrainingRun]:
    """The runs whose artifacts this one consumes: its starting policy, margin models, merged policies."""
    parent = _parent_policy(request) if spec.policy_field else None
    margin = request.margin_reward_runs if spec.uses_margin_reward_models else []
    merged = request.merge_runs if spec.merges_policies else []
    return [run for run in [parent, *margin, *merged] if run is not None]


def _check_request(request: LaunchRequest, spec: MethodSpec, errors: dict[str, str]) -> None:
    """What only the web side knows: the snapshot's contents, parent runs, paths on this server."""
    if spec.needs_snapshot and request.snapshot is None:
        errors["snapshot"] = "Choose a frozen dataset snapshot."
    criteria = _snapshot_criteria(request.snapshot) if request.snapshot is not None else []
    if spec.uses_criterion and request.criterion and criteria and request.criterion not in criteria:
        errors["criterion"] = (
            f"Snapshot has no {request.criterion!r} preferences (it has: {', '.join(criteria)})."
        )
    if spec.needs_snapshot and request.snapshot is not None:
        _check_pairs(request, spec, errors)
    if spec.policy_field:
        _check_model(request, errors)
    unknown = sorted(set(request.weights) - set(criteria)) if spec.weights_field and criteria else []
    if unknown:
        errors["weights"] = f"Weights name criteria the snapshot lacks: {', '.join(unknown)}."
    if spec.uses_margin_reward_models:
        _check_margin_models(request, errors)
    if spec.merges_policies and any(run.method not in policy_methods() for run in request.merge_runs):
        labels = ", ".join(METHODS[key].label for key in policy_methods())
        errors["merge_runs"] = f"Only trained policies ({labels}) can be merged."
    for run in _parents(request, spec):
        if run.status != Status.SUCCEEDED:
            errors.setdefault(
                "parents", f"Run #{run.pk} has not succeeded, so it has no artifacts to build on."
            )


def _config_fields(spec: MethodSpec) -> set[str]:
    return {item.name for item in fields(spec.config_class)}


def _build_config(request: LaunchRequest, spec: MethodSpec, errors: dict[str, str]) -> LaunchPlan:
    """The ML package config and its inputs; a parent without an artifact is an error, not a crash."""
    skipped = {spec.form_field(name) for name in MERGE_SETTINGS.values()} if spec.merges_policies else set()
    hyper = {key: value for key, value in request.hyper.items() if key not in skipped}
    plan = LaunchPlan(config=hyper, inputs=[])

    def reference(run: TrainingRun, name: str, artifact: RunArtifact | None) -> str:
        if artifact is None:
            errors.setdefault("parents", f"Run #{run.pk} left no {run.method} artifact to build on.")
            return f"input:{name}"
        plan.inputs.append((name, artifact))
        return f"input:{name}/{artifact.name}"

    config = plan.config
    if spec.policy_field and request.model is not None:
        parent = request.model.run
        if parent is not None:
            artifact = request.model.artifact or policy_artifact(parent)
            config[spec.policy_field] = reference(parent, "policy", artifact)
            if artifact is not None and "parent_runs" in _config_fields(spec):
                # The saved policy names its parent by run and artifact hash, never by a worker's path.
                config["parent_runs"] = [{"run": parent.pk, "sha256": artifact.sha256}]
        elif request.model.base_model is not None:
            config[spec.policy_field] = request.model.base_model.path
    if spec.uses_criterion:
        config["criterion"] = request.criterion
    if spec.uses_margin_reward_models:
        config["margin_reward_models"] = [
            {
                "criterion": run.config.get("criterion"),
                "path": reference(
                    run, f"rm-{run.config.get('criterion')}", run.artifacts.filter(name="model").first()
                ),
            }
            for run in request.margin_reward_runs
        ]
    if spec.weights_field and (request.weights or spec.is_required(spec.weights_field)):
        config[spec.weights_field] = request.weights
    if spec.merges_policies:
        config["method"] = request.merge_method
        config["models"] = [
            reference(run, f"model-{index}", policy_artifact(run))
            for index, run in enumerate(request.merge_runs)
        ]
        setting = MERGE_SETTINGS.get(request.merge_method)
        if setting and request.hyper.get(spec.form_field(setting)) is not None:
            config[setting] = request.hyper[spec.form_field(setting)]
    return plan


def _check_config(spec: MethodSpec, config: dict[str, Any], errors: dict[str, str]) -> None:
    """Build the method's config dataclass, as the worker will; its error goes on the field it names."""
    try:
        config_from_dict(spec.config_class, config)
    except ConfigFieldError as exc:
        errors.setdefault(
            MODEL_FIELD if exc.field == spec.policy_field else spec.form_field(exc.field), str(exc)
        )
    except (TypeError, ValueError) as exc:
        errors.setdefault("hyper", str(exc))


def launch_plan(request: LaunchRequest) -> LaunchPlan:
    """Raise LaunchError with every problem found, else return the config and inputs to create."""
    spec = METHODS.get(request.method)
    if spec is None or not spec.launchable:
        raise LaunchError(field_errors={"method": f"Unknown method {request.method!r}."})
    errors: dict[str, str] = {}
    _check_request(request, spec, errors)
    plan = _build_config(request, spec, errors)
    _check_config(spec, plan.config, errors)
    if errors:
        raise LaunchError(field_errors=errors)
    return plan


def _input_from_file(*, run: TrainingRun, name: str, stored_name: str, sha256: str) -> None:
    item = RunInput(run=run, name=name, sha256=sha256)
    item.file.name = stored_name  # the input reuses the stored file; nothing is copied
    item.save()


def training_run_launch(*, request: LaunchRequest, created_by: AbstractBaseUser) -> TrainingRun:
    """Validate, create the run with its inputs and lineage, and queue it for a GPU worker."""
    plan = launch_plan(request)
    with transaction.atomic():
        run = training_run_create(
            name=request.name,
            method=request.method,
            config=plan.config,
            created_by=created_by,
            parents=_parents(request, METHODS[request.method]),
            base_model=request.model.base_model if request.model else None,
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
        for name, artifact in plan.inputs:
            _input_from_file(run=run, name=name, stored_name=artifact.file.name, sha256=artifact.sha256)
        training_run_enqueue(run=run)
    return run
