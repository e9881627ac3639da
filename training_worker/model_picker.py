"""The model picker: wherever a model is asked for, the choices are registered models and trained policies.

A choice is one string, `base:<id>` (a registered :class:`BaseModel`) or `run:<id>` (the policy a succeeded
run left as its artifact). Forms offer :func:`model_options`; forms and the API turn the string back into a
:class:`ModelChoice` with :func:`model_choice_resolve`, which refuses anything that cannot be used. A run's
policy is never a path: the web app hands its artifact to the next run as an input, so no worker path is
checked or typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from core.errors import ApplicationError
from core.models import Status
from training_worker.ml.registry import METHODS, policy_methods
from training_worker.models import BaseModel, RunArtifact, TrainingRun

# The artifact names a policy run leaves, in order of preference (a LoRA adapter, or full weights).
POLICY_ARTIFACTS = ("adapter", "model")
BASE, RUN = "base", "run"


class ModelChoiceError(ApplicationError):
    """The chosen model is unknown or unusable; `field_errors` name the field that asked."""


@dataclass(frozen=True)
class ModelChoice:
    """A registered base model, or a succeeded run and its policy artifact."""

    base_model: BaseModel | None = None
    run: TrainingRun | None = None
    artifact: RunArtifact | None = None

    @property
    def value(self) -> str:
        return (
            f"{BASE}:{self.base_model.pk}" if self.base_model else f"{RUN}:{self.run.pk if self.run else ''}"
        )

    @property
    def source(self) -> str:
        """How generated responses name their model: the policy run, or the registered model."""
        if self.run is not None:
            return f"model:run #{self.run.pk} {self.run.name}"[:300]
        return f"model:{self.base_model.name if self.base_model else ''}"[:300]


def policy_artifact(run: TrainingRun) -> RunArtifact | None:
    """The policy a run left (adapter before full weights), or None."""
    artifacts = {artifact.name: artifact for artifact in run.artifacts.filter(name__in=POLICY_ARTIFACTS)}
    return next((artifacts[name] for name in POLICY_ARTIFACTS if name in artifacts), None)


def policy_runs() -> QuerySet[TrainingRun]:
    """Succeeded runs of policy methods that left a policy artifact, newest first."""
    has_policy = RunArtifact.objects.filter(run=OuterRef("pk"), name__in=POLICY_ARTIFACTS)
    return (
        TrainingRun.objects.filter(status=Status.SUCCEEDED, method__in=policy_methods())
        .filter(Exists(has_policy))
        .order_by("-created_at", "-id")
    )


def run_policy_label(run: TrainingRun) -> str:
    """What a researcher needs to tell policies apart: method, criterion or weights, snapshot, name."""
    spec = METHODS.get(run.method)
    parts = [f"#{run.pk} {spec.label if spec else run.method} \u201c{run.name}\u201d"]
    if run.config.get("criterion"):
        parts.append(str(run.config["criterion"]))
    weights = run.config.get(spec.weights_field) if spec and spec.weights_field else None
    if isinstance(weights, dict) and weights:
        parts.append("weights " + ", ".join(f"{key} {value:g}" for key, value in sorted(weights.items())))
    if run.snapshot_hash:
        parts.append(f"snapshot {run.snapshot_hash[:8]}")
    return " \u00b7 ".join(parts)


def model_options(*, kind: str = BaseModel.Kind.CAUSAL_LM) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a select: registered models of `kind`, then trained policies."""
    registered = [
        (f"{BASE}:{model.pk}", f"{model.name} ({model.path})")
        for model in BaseModel.objects.filter(kind=kind).order_by("name")
    ]
    trained = [(f"{RUN}:{run.pk}", run_policy_label(run)) for run in policy_runs()[:500]]
    return [("Registered base models", registered), ("Trained policies (succeeded runs)", trained)]


def _resolve_run(pk: int, field: str) -> ModelChoice:
    run = TrainingRun.objects.filter(pk=pk).first()
    if run is None:
        raise ModelChoiceError(field_errors={field: f"No run #{pk}."})
    if run.method not in policy_methods():
        labels = ", ".join(METHODS[key].label for key in policy_methods())
        raise ModelChoiceError(field_errors={field: f"Run #{pk} is not a policy ({labels})."})
    if run.status != Status.SUCCEEDED:
        raise ModelChoiceError(
            field_errors={field: f"Run #{pk} has not succeeded, so it has no policy to build on."}
        )
    artifact = policy_artifact(run)
    if artifact is None:
        raise ModelChoiceError(field_errors={field: f"Run #{pk} left no policy artifact."})
    return ModelChoice(run=run, artifact=artifact)


def model_choice_resolve(value: str, *, field: str = "model") -> ModelChoice:
    """`base:<id>` or `run:<id>` as a usable ModelChoice; ModelChoiceError on `field` otherwise."""
    prefix, _, raw_id = value.strip().partition(":")
    if prefix not in (BASE, RUN) or not raw_id.isdigit() or len(raw_id) > 18:
        raise ModelChoiceError(
            field_errors={field: "Choose a registered base model (base:<id>) or a trained policy (run:<id>)."}
        )
    if prefix == RUN:
        return _resolve_run(int(raw_id), field)
    model = BaseModel.objects.filter(pk=int(raw_id), kind=BaseModel.Kind.CAUSAL_LM).first()
    if model is None:
        raise ModelChoiceError(field_errors={field: f"No registered base model #{raw_id}."})
    return ModelChoice(base_model=model)


def model_choice_from_path(path: str, *, field: str = "base_model") -> ModelChoice:
    """The registered causal LM at `path` (the API's older `base_model` payload)."""
    model = BaseModel.objects.filter(kind=BaseModel.Kind.CAUSAL_LM, path=path.strip()).first()
    if model is None:
        raise ModelChoiceError(
            field_errors={
                field: f"No registered base model has the path {path.strip()!r}: register it first "
                "(Models page or POST /api/models/), or give `model` as base:<id> or run:<id>."
            }
        )
    return ModelChoice(base_model=model)
