"""The pipeline engine: store plans, start a plan on a snapshot, advance on facts, retry, cancel, reconcile.

An advance locks the pipeline row, reads each running step's work (a run, a response set, an evaluation),
then launches every waiting step whose inputs are all usable, each through its own service and in the
advance's transaction. Launching is a guarded UPDATE of the step's row (WAITING -> RUNNING), so an advance
asked for twice (the same signal delivered again, the reconciler racing a receiver) launches a step once.
A failed step blocks only the steps that depend on it; the pipeline ends once nothing is running and
nothing waiting can start.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from annotation.models import DatasetSnapshot
from core.errors import ApplicationError, ConflictError, NotFoundError
from core.services import audit_record
from evaluation.services.evaluations import evaluation_cancel
from pipelines.checks import plan_check_step, plan_load
from pipelines.models import PipelinePlan, PipelineRun, PipelineState, PipelineStep, StepState
from pipelines.plan import Plan, PlanError, Step, plan_sha256
from pipelines.selectors import step_states
from pipelines.services.launchers import step_launch, step_observe
from survey_app.analysis.weights import derive_weights
from training_worker.models import BaseModel
from training_worker.services import training_run_cancel

logger = logging.getLogger(__name__)

FINISHED_STEPS = frozenset({StepState.SUCCEEDED, StepState.FAILED, StepState.CANCELLED})


class PipelineError(ApplicationError):
    """The plan or the pipeline cannot be used as asked; `field_errors` name the inputs at fault."""


def step_output_usable(step: PipelineStep) -> bool:
    """Whether dependants may build on the step's output: the one place that decides it."""
    return step.state == StepState.SUCCEEDED


def plan_validate(*, text: str) -> Plan:
    """The checked plan; PipelineError listing one message per problem under `plan`."""
    try:
        return plan_load(text)
    except PlanError as exc:
        raise PipelineError("The plan is not valid.", {"plan": exc.errors}) from None


def plan_store(*, text: str, created_by: AbstractBaseUser | None) -> PipelinePlan:
    """Validate and keep the plan: the same bytes are the same stored plan, a new text a new version."""
    plan = plan_validate(text=text)
    sha256 = plan_sha256(text)
    existing = PipelinePlan.objects.filter(sha256=sha256).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            latest = PipelinePlan.objects.filter(name=plan.name).aggregate(Max("version"))["version__max"]
            stored = PipelinePlan.objects.create(
                name=plan.name, version=(latest or 0) + 1, text=text, sha256=sha256, created_by=created_by
            )
            audit_record(
                action="pipeline_plan.store",
                actor=created_by,
                actor_label=None if created_by else "system",
                obj=stored,
                detail={"name": plan.name, "version": stored.version, "sha256": sha256},
            )
    except IntegrityError:  # stored concurrently
        return PipelinePlan.objects.get(sha256=sha256)
    return stored


def _bind_models(plan: Plan, overrides: dict[str, str], errors: dict[str, list[str]]) -> dict[str, int]:
    """Each model role's registered model (by the plan's name, or the override's)."""
    bindings: dict[str, int] = {}
    for role in plan.models.values():
        name = overrides.get(role.role, role.name)
        model = BaseModel.objects.filter(name=name, kind=role.kind).first()
        if model is None:
            errors.setdefault("models", []).append(
                f"model role {role.role!r}: no registered {role.kind} model is named {name!r}."
            )
        else:
            bindings[role.role] = model.pk
    for role in sorted(set(overrides) - set(plan.models)):
        errors.setdefault("models", []).append(f"the plan has no model role {role!r}.")
    return bindings


def _survey_step(plan: Plan, step: Step, snapshot: DatasetSnapshot, steps: dict[str, Step]) -> Step:
    """A MODPO step on survey-derived weights, resolved: the snapshot's objective weights over the primary
    criterion and its margin models' criteria, renormalised with the plan's safety floor applied."""
    margins = [ref for ref in step.margin_models if steps[ref].criterion != step.criterion]
    criteria = [step.criterion, *(steps[ref].criterion for ref in margins)]
    stored = snapshot.manifest.get("objective_weights") or {}
    missing = [criterion for criterion in criteria if not stored.get(criterion)]
    if missing:
        raise PlanError(
            [f"step {step.name!r}: the snapshot has no survey-derived weight for {', '.join(missing)}."]
        )
    derived = derive_weights(
        means={criterion: float(stored[criterion]) for criterion in criteria},
        safety_key=plan.safety_criterion,
        safety_floor=plan.safety_floor,
    )
    return replace(step, weights=derived.weights, survey_weights=False, margin_models=tuple(margins))


def _bound_steps(plan: Plan, snapshot: DatasetSnapshot, errors: dict[str, list[str]]) -> list[Step]:
    """The plan's steps for this snapshot (survey weights resolved), in an order where inputs come first."""
    steps = {step.name: step for step in plan.steps}
    bound: list[Step] = []
    for step in plan.steps:
        try:
            if step.survey_weights:
                step = _survey_step(plan, step, snapshot, steps)
                plan_check_step(plan, step, steps)
        except PlanError as exc:
            errors.setdefault("plan", []).extend(exc.errors)
        bound.append(step)
    ordered: list[Step] = []
    placed: set[str] = set()
    while len(ordered) < len(bound):
        step = next(s for s in bound if s.name not in placed and set(s.inputs) <= placed)
        ordered.append(step)
        placed.add(step.name)
    return ordered


def pipeline_start(
    *,
    plan: PipelinePlan,
    snapshot: DatasetSnapshot,
    created_by: AbstractBaseUser | None,
    models: dict[str, str] | None = None,
) -> PipelineRun:
    """Bind the plan to the snapshot and the registered models, create every step, launch the first ones."""
    parsed = plan_validate(text=plan.text)
    errors: dict[str, list[str]] = {}
    criteria = set(snapshot.manifest.get("criteria_set", {}).get("criteria", []))
    missing = [criterion for criterion in parsed.criteria if criterion not in criteria]
    if missing:
        errors["snapshot"] = [f"The snapshot has no preferences on {', '.join(missing)}."]
    bindings = _bind_models(parsed, models or {}, errors)
    steps = _bound_steps(parsed, snapshot, errors)
    if errors:
        raise PipelineError(field_errors=errors)
    with transaction.atomic():
        pipeline = PipelineRun.objects.create(
            plan=plan, snapshot=snapshot, model_bindings=bindings, created_by=created_by
        )
        PipelineStep.objects.bulk_create(
            PipelineStep(
                pipeline=pipeline,
                name=step.name,
                position=position,
                method=step.method,
                spec=step.to_dict(),
                inputs=list(step.inputs),
            )
            for position, step in enumerate(steps)
        )
        audit_record(
            action="pipeline.start",
            actor=created_by,
            actor_label=None if created_by else "system",
            obj=pipeline,
            detail={"plan": plan.sha256, "snapshot": snapshot.content_hash, "models": bindings},
        )
        pipeline_advance(pipeline_id=pipeline.pk)
    return pipeline


def _observe(row: PipelineStep) -> None:
    state, output, error = step_observe(row=row)
    if (state, output, error) == (row.state, row.output, row.error):
        return
    row.state, row.output, row.error = state, output, error
    fields = ["state", "output", "error"]
    if state in FINISHED_STEPS:
        row.finished_at = timezone.now()
        fields.append("finished_at")
    row.save(update_fields=fields)


def _launch(pipeline: PipelineRun, row: PipelineStep, rows: dict[str, PipelineStep]) -> None:
    """Launch a waiting step once (a guarded UPDATE claims it); a refused launch fails the step."""
    claimed = PipelineStep.objects.filter(pk=row.pk, state=StepState.WAITING).update(
        state=StepState.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return
    row.refresh_from_db()
    try:
        with transaction.atomic():
            targets = step_launch(pipeline=pipeline, row=row, steps=rows, actor=pipeline.created_by)
    except (ApplicationError, ValueError, TypeError) as exc:
        messages = exc.all_messages() if isinstance(exc, ApplicationError) else [str(exc)]
        row.state, row.error, row.finished_at = StepState.FAILED, "\n".join(messages), timezone.now()
        row.save(update_fields=["state", "error", "finished_at"])
        return
    for key, value in targets.items():
        setattr(row, key, value)
    if "output" in targets:
        row.state, row.finished_at = StepState.SUCCEEDED, timezone.now()
    row.save()


def _finish_if_done(pipeline: PipelineRun, rows: dict[str, PipelineStep]) -> None:
    """End the pipeline once no step runs and every waiting step is blocked (or none is left)."""
    states = set(step_states(rows.values()).values())
    if StepState.RUNNING in states or StepState.WAITING in states:
        return
    done = states == {StepState.SUCCEEDED}
    pipeline.state = PipelineState.SUCCEEDED if done else PipelineState.FAILED
    pipeline.finished_at = timezone.now()
    pipeline.save(update_fields=["state", "finished_at"])
    audit_record(action=f"pipeline.{pipeline.state}", actor_label="system", obj=pipeline)


def _locked(pipeline_id: int) -> PipelineRun:
    return (
        PipelineRun.objects.select_for_update(of=("self",))
        .select_related("snapshot", "created_by")
        .get(pk=pipeline_id)
    )


def _rows(pipeline: PipelineRun) -> dict[str, PipelineStep]:
    query = pipeline.steps.select_related(
        "training_run", "response_set__training_run", "evaluation__job", "evaluation__score_run"
    )
    return {row.name: row for row in query.order_by("position")}


def pipeline_advance(*, pipeline_id: int) -> PipelineRun:
    """Read the running steps' work, launch what is now ready, end the pipeline when nothing more can run."""
    with transaction.atomic():
        pipeline = _locked(pipeline_id)
        if pipeline.state != PipelineState.RUNNING:
            return pipeline
        rows = _rows(pipeline)
        for row in rows.values():
            if row.state == StepState.RUNNING:
                _observe(row)
        launched = True
        while launched:  # a step that finishes as it launches (figures) may make another ready
            launched = False
            for row in rows.values():
                if row.state == StepState.WAITING and all(step_output_usable(rows[i]) for i in row.inputs):
                    _launch(pipeline, row, rows)
                    launched = True
        _finish_if_done(pipeline, rows)
    return pipeline


def _step(pipeline: PipelineRun, name: str) -> PipelineStep:
    row = pipeline.steps.filter(name=name).first()
    if row is None:
        raise NotFoundError(f"Pipeline {pipeline.pk} has no step {name!r}.")
    return row


def step_retry(*, pipeline: PipelineRun, name: str, actor: AbstractBaseUser) -> PipelineRun:
    """Launch a failed (or cancelled) step again with the same inputs; its blocked dependants follow."""
    with transaction.atomic():
        locked = _locked(pipeline.pk)
        if locked.state == PipelineState.CANCELLED:
            raise ConflictError(f"Pipeline {locked.pk} was cancelled; start a new one.")
        row = _step(locked, name)
        if row.state not in (StepState.FAILED, StepState.CANCELLED):
            raise ConflictError(f"Step {name!r} is {row.state}; only a failed or cancelled step is retried.")
        attempt: dict[str, Any] = {"attempt": row.attempts, "state": row.state, "error": row.error}
        for key in ("training_run_id", "response_set_id", "evaluation_id"):
            attempt[key.removesuffix("_id")] = getattr(row, key)
        row.history = [*row.history, attempt]
        row.state, row.error, row.output = StepState.WAITING, "", {}
        row.training_run = row.response_set = row.evaluation = None
        row.started_at = row.finished_at = None
        row.save()
        locked.state, locked.finished_at = PipelineState.RUNNING, None
        locked.save(update_fields=["state", "finished_at"])
        audit_record(action="pipeline.step_retry", actor=actor, obj=locked, detail={"step": name, **attempt})
    return pipeline_advance(pipeline_id=pipeline.pk)


def _cancel_work(row: PipelineStep, actor: AbstractBaseUser | None) -> None:
    if row.evaluation is not None:
        evaluation_cancel(evaluation=row.evaluation, actor=actor)
        if row.evaluation.score_run is not None:
            training_run_cancel(run=row.evaluation.score_run, actor=actor)
    elif row.training_run is not None:
        training_run_cancel(run=row.training_run, actor=actor)


def pipeline_cancel(*, pipeline: PipelineRun, actor: AbstractBaseUser | None) -> bool:
    """Stop the pipeline: running work is cancelled, nothing more is launched. False if it had ended."""
    with transaction.atomic():
        locked = _locked(pipeline.pk)
        if locked.state != PipelineState.RUNNING:
            return False
        now = timezone.now()
        for row in _rows(locked).values():
            if row.state == StepState.RUNNING:
                _cancel_work(row, actor)
            if row.state in (StepState.RUNNING, StepState.WAITING):
                row.state, row.finished_at = StepState.CANCELLED, now
                row.save(update_fields=["state", "finished_at"])
        locked.state, locked.finished_at = PipelineState.CANCELLED, now
        locked.save(update_fields=["state", "finished_at"])
        audit_record(action="pipeline.cancel", actor=actor, obj=locked)
    return True


def pipelines_reconcile() -> list[int]:
    """Advance every running pipeline (a missed signal, a crash between two steps); returns their ids."""
    advanced = []
    for pipeline_id in PipelineRun.objects.filter(state=PipelineState.RUNNING).values_list("pk", flat=True):
        try:
            pipeline_advance(pipeline_id=pipeline_id)
        except Exception:  # one broken pipeline must not stop the others' repair
            logger.exception("Reconciling pipeline %s failed", pipeline_id)
            continue
        advanced.append(pipeline_id)
    return advanced
