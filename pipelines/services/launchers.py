"""Launching one pipeline step through the service that owns its kind of work, and reading its outcome.

Training steps go through `training_worker.launch.training_run_launch` (every launch check applies),
generation through `training_worker.generation.services.response_set_generate` (the step's output is the
response set it fills), evaluations through `evaluation.services.evaluations.evaluation_create`, and a
figures step reads its evaluation's stored results. Nothing here writes a run, a set or an evaluation itself.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from annotation.models import JudgePersona, ResponseSet, Split
from annotation.services.judging import judge_endpoint_with_defaults
from core.errors import ApplicationError
from core.models import TERMINAL_STATUSES, Status
from evaluation.models import Evaluation, JudgeKind
from evaluation.services.evaluations import evaluation_create
from pipelines.figures import figures_write
from pipelines.models import PipelineRun, PipelineStep, StepState
from pipelines.plan import Step
from training_worker.generation.services import GenerationError, response_set_ingest_generation
from training_worker.generation.services import response_set_generate as generation_launch
from training_worker.launch import LaunchRequest, training_run_launch
from training_worker.model_picker import ModelChoice, policy_artifact
from training_worker.models import BaseModel, TrainingRun

# The metric a finished step shows on the pipeline page, by method (the first one the result has).
KEY_METRICS = {
    "reward": ("test/accuracy", "held_out_accuracy", "train_loss"),
    "sft": ("test/loss", "train_loss"),
    "generate": ("responses",),
}
POLICY_KEY_METRICS = ("test/reward_accuracy", "test/loss", "train_loss")


class StepLaunchError(ApplicationError):
    """The step cannot be launched with its inputs; the step is marked failed with this message."""


def _label(pipeline: PipelineRun, step: Step, steps: dict[str, PipelineStep]) -> str:
    """What the launched work is called; a retry's work is told apart (response set names are unique)."""
    attempt = steps[step.name].attempts
    return (f"pipeline {pipeline.pk}: {step.name}" + (f" (attempt {attempt})" if attempt > 1 else ""))[:200]


def _runs(steps: dict[str, PipelineStep], names: tuple[str, ...]) -> list[TrainingRun]:
    return [steps[name].training_run for name in names if steps[name].training_run is not None]


def _model_choice(pipeline: PipelineRun, step: Step, steps: dict[str, PipelineStep]) -> ModelChoice:
    """A model role's registered model, or the policy the input step's run left."""
    if step.model.startswith("model:"):
        role = step.model.removeprefix("model:")
        return ModelChoice(base_model=BaseModel.objects.get(pk=pipeline.model_bindings[role]))
    run = steps[step.model].training_run
    return ModelChoice(run=run, artifact=policy_artifact(run) if run else None)


def _launch_training(
    pipeline: PipelineRun, step: Step, steps: dict[str, PipelineStep], actor: AbstractBaseUser | None
) -> dict[str, Any]:
    hyper = dict(step.config)
    if step.method == "reward" and step.backbone:
        hyper["backbone"] = BaseModel.objects.get(pk=pipeline.model_bindings[step.backbone]).path
    request = LaunchRequest(
        name=_label(pipeline, step, steps),
        method=step.method,
        snapshot=pipeline.snapshot if step.method != "merge" else None,
        criterion=step.criterion,
        weights=dict(step.weights or {}),
        model=_model_choice(pipeline, step, steps) if step.model else None,
        margin_reward_runs=_runs(steps, step.margin_models),
        merge_runs=_runs(steps, step.merge),
        merge_method=step.merge_method,
        hyper=hyper,
    )
    return {"training_run": training_run_launch(request=request, created_by=actor)}


def _launch_generation(
    pipeline: PipelineRun, step: Step, steps: dict[str, PipelineStep], actor: AbstractBaseUser | None
) -> dict[str, Any]:
    settings = {key: value for key, value in step.config.items() if key != "precision"}
    response_set = generation_launch(
        snapshot=pipeline.snapshot,
        name=_label(pipeline, step, steps),
        model=_model_choice(pipeline, step, steps),
        created_by=actor,
        **settings,
    )
    return {"response_set": response_set, "training_run": response_set.training_run}


def _entrant_label(steps: dict[str, PipelineStep], name: str) -> str:
    """An entrant is named after the policy its responses came from (`sft`, `dpo.empathy`, `policy`)."""
    return str(steps[name].spec["model"]).removeprefix("model:")


def _launch_evaluation(
    pipeline: PipelineRun, step: Step, steps: dict[str, PipelineStep], actor: AbstractBaseUser | None
) -> dict[str, Any]:
    options = dict(step.options)
    common: dict[str, Any] = {
        "name": _label(pipeline, step, steps),
        "criteria_set": pipeline.snapshot.criteria_set,
        "response_sets": [steps[name].response_set for name in step.entrants],
        "labels": [_entrant_label(steps, name) for name in step.entrants],
        "created_by": actor,
        **options,
    }
    if step.judge == "reward_models":
        evaluation = evaluation_create(
            judge_kind=JudgeKind.REWARD_MODEL, reward_runs=_runs(steps, step.reward_models), **common
        )
    else:
        personas = list(JudgePersona.objects.filter(split=Split.TEST).order_by("pk")[: step.personas])
        try:
            endpoint = judge_endpoint_with_defaults(**step.endpoint)
        except ValueError as exc:
            raise StepLaunchError(f"endpoint: {exc}") from None
        evaluation = evaluation_create(
            judge_kind=JudgeKind.PERSONA, personas=personas, endpoint=endpoint, **common
        )
    return {"evaluation": evaluation}


def _figures_output(pipeline: PipelineRun, step: Step, steps: dict[str, PipelineStep]) -> dict[str, Any]:
    """The paper's figures written from the evaluation's stored results (`pipelines.figures`), and the
    evaluation's own figures as links (rendered from them on request)."""
    evaluation = steps[step.evaluation].evaluation
    results = evaluation.results if evaluation is not None else {}
    links: dict[str, str] = {}
    if "pareto" in step.figures:
        if not results.get("pareto"):
            raise StepLaunchError("The evaluation's results have no empathy and safety criteria to plot.")
        for fmt in ("svg", "png"):
            links[f"pareto.{fmt}"] = reverse(
                "evaluation-figure", kwargs={"pk": evaluation.pk, "name": "pareto", "fmt": fmt}
            )
        links.update(
            figures_write(pipeline=pipeline, row=steps[step.name], evaluation=evaluation, rows=steps)
        )
    if "bars" in step.figures:
        for index, pair in enumerate(results.get("pairs", [])):
            url = reverse("evaluation-figure", kwargs={"pk": evaluation.pk, "name": "bars", "fmt": "svg"})
            links[f"{pair['model_a']} vs {pair['model_b']}.svg"] = f"{url}?pair={index}"
    return {"figures": links, "evaluation": evaluation.pk}


def step_launch(
    *,
    pipeline: PipelineRun,
    row: PipelineStep,
    steps: dict[str, PipelineStep],
    actor: AbstractBaseUser | None,
) -> dict[str, Any]:
    """Launch the step's work; returns the targets to store on the row (figures: its output)."""
    step = Step.from_dict(row.spec)
    if step.method == "generate":
        return _launch_generation(pipeline, step, steps, actor)
    if step.method == "evaluate":
        return _launch_evaluation(pipeline, step, steps, actor)
    if step.method == "figures":
        return {"output": _figures_output(pipeline, step, steps)}
    return _launch_training(pipeline, step, steps, actor)


def _run_metric(run: TrainingRun) -> dict[str, Any]:
    metrics = run.result or {}
    for key in KEY_METRICS.get(run.method, POLICY_KEY_METRICS):
        if isinstance(metrics.get(key), int | float):
            return {"metric": key, "value": metrics[key]}
    return {}


def _work_usable(status: str) -> bool:
    """Whether finished work (a run, an evaluation's job) left output its dependants may use; the one place
    to decide it. A partially succeeded evaluation counts: its statistics use the valid comparisons."""
    return status in (Status.SUCCEEDED, Status.PARTIAL)


def _run_state(run: TrainingRun) -> str:
    if _work_usable(run.status):
        return StepState.SUCCEEDED
    if run.status == Status.CANCELLED:
        return StepState.CANCELLED
    return StepState.FAILED if run.status in TERMINAL_STATUSES else StepState.RUNNING


def _generation_state(row: PipelineStep) -> tuple[str, dict[str, Any], str]:
    response_set = row.response_set
    run = response_set.training_run
    if response_set.state == ResponseSet.State.GENERATING and run is not None and run.is_terminal:
        # The run_finished receiver normally did this already; it is idempotent, and an unusable output
        # leaves the set marked failed with the reason.
        with suppress(GenerationError):
            response_set_ingest_generation(response_set=response_set, actor=None)
        response_set.refresh_from_db()
    if response_set.state == ResponseSet.State.READY:
        report = response_set.import_report
        return StepState.SUCCEEDED, {"metric": "responses", "value": report.get("rows_accepted")}, ""
    if response_set.state == ResponseSet.State.FAILED:
        return StepState.FAILED, {}, str(response_set.import_report.get("error", "generation failed"))
    return StepState.RUNNING, {}, ""


def _evaluation_state(evaluation: Evaluation) -> tuple[str, dict[str, Any], str]:
    """Done once its latest execution succeeded with the statistics computed (for reward-model judges,
    after the scoring run's scores were ingested)."""
    job, score_run = evaluation.job, evaluation.score_run
    if score_run is not None and score_run.status in (Status.FAILED, Status.CANCELLED):
        return (
            StepState.FAILED,
            {},
            f"scoring run {score_run.pk} {score_run.status}: {score_run.error[-500:]}",
        )
    if job is None or not job.is_terminal:
        return StepState.RUNNING, {}, ""
    if not _work_usable(job.status):
        return StepState.FAILED, {}, f"evaluation job {job.pk} {job.status}: {job.error[-500:]}"
    if job.result.get("state") == "scoring" or not evaluation.results_computed_at:
        return StepState.RUNNING, {}, ""
    counts = evaluation.results.get("counts", {})
    return StepState.SUCCEEDED, {"metric": "comparisons", "value": counts.get("ok", counts)}, ""


def step_observe(*, row: PipelineStep) -> tuple[str, dict[str, Any], str]:
    """(state, output, error) of a running step, read from the work it launched."""
    if row.evaluation is not None:
        return _evaluation_state(row.evaluation)
    if row.response_set is not None:
        return _generation_state(row)
    if row.training_run is not None:
        run = row.training_run
        return _run_state(run), _run_metric(run), run.error[-2000:]
    return row.state, row.output, row.error
