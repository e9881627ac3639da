"""A small chain (two reward models, SFT, MODPO, generation for the base and MODPO, a reward-model
head-to-head and its figures) and the GPU worker's part in it, played through the real worker API."""

import json

import yaml

from annotation.models import Question
from core.services import job_run
from evaluation.models import Evaluation
from pipelines.models import PipelineRun, PipelineStep
from pipelines.services.engine import pipeline_start, pipelines_reconcile, plan_store
from tests.training_worker.play_worker import jsonl, worker_finish
from training_worker.models import TrainingRun

CHAIN = {
    "format": "pipeline-plan-v1",
    "name": "chain",
    "criteria": ["empathy", "safety"],
    "safety": {"criterion": "safety", "floor": 0.3},
    "models": {
        "policy": {"kind": "causal_lm", "name": "Tiny base"},
        "backbone": {"kind": "reward_backbone", "name": "Tiny BERT"},
    },
    "steps": [
        {"name": "reward", "method": "reward", "for_each": "criteria", "backbone": "backbone",
         "config": {"max_steps": 1}},
        {"name": "sft", "method": "sft", "model": "policy", "config": {"max_steps": 1}},
        {"name": "modpo", "method": "modpo", "criterion": "empathy", "model": "sft",
         "margin_models": "reward", "weights": [{"empathy": 0.6, "safety": 0.4}], "config": {"max_steps": 1}},
        {"name": "generate", "method": "generate", "policies": ["model:policy", "modpo"],
         "config": {"num_responses": 2, "temperature": 0.8, "split": "test"}},
        {"name": "h2h", "method": "evaluate", "entrants": "generate", "judge": "reward_models",
         "reward_models": "reward"},
        {"name": "figures", "method": "figures", "evaluation": "h2h", "figures": ["pareto", "bars"]},
    ],
}  # fmt: skip
CHAIN_TEXT = yaml.safe_dump(CHAIN, sort_keys=False)


def start(snapshot, researcher, capture, text: str = CHAIN_TEXT) -> PipelineRun:
    with capture(execute=True):
        plan = plan_store(text=text, created_by=researcher)
        return pipeline_start(plan=plan, snapshot=snapshot, created_by=researcher)


def step(pipeline: PipelineRun, name: str) -> PipelineStep:
    return pipeline.steps.get(name=name)


def run_of(pipeline: PipelineRun, name: str) -> TrainingRun:
    run = step(pipeline, name).training_run
    assert run is not None, f"{name} launched no run"
    return run


def artifacts_for(run: TrainingRun) -> dict[str, bytes]:
    """What a worker uploads for each method: a reward model, a policy adapter, or generated responses."""
    if run.method == "reward":
        return {"model": b"reward model weights"}
    if run.method == "generate":
        rows = [
            {"question_id": q.external_id, "prompt": q.text, "response": f"[{run.pk}] reply {i}", "index": i}
            for q in Question.objects.filter(split="test")
            for i in range(run.config["num_responses"])
        ]
        return {"responses": jsonl(rows)}
    return {"adapter": f"adapter of run {run.pk}".encode()}


def finish(run: TrainingRun, capture, **outcome) -> None:
    """Play the GPU worker to the end of `run`; the run_finished signal fires as in production."""
    artifacts = artifacts_for(run) if outcome.get("status", "succeeded") == "succeeded" else {}
    with capture(execute=True):
        worker_finish(run, artifacts=artifacts, metrics={"train_loss": 0.5}, **outcome)


def score(run: TrainingRun, capture) -> None:
    """Play the GPU worker's scoring run: the MODPO policy's responses score higher on empathy, lower on
    safety (a trade-off)."""
    items = [json.loads(line) for line in run.inputs.get(name="items").file.open("rb") if line.strip()]
    rows = []
    for item in items:
        first = 1.0 if item["response_a"].startswith(f"[{modpo_generation_run(run)}]") else 0.0
        rows.append(
            {
                "item_id": item["item_id"],
                "scores": {"empathy": [first, 1 - first], "safety": [1 - first, first]},
            }
        )
    with capture(execute=True):
        worker_finish(run, artifacts={"scores": jsonl(rows)})


def modpo_generation_run(score_run: TrainingRun) -> int:
    step_row = PipelineStep.objects.get(evaluation__score_run=score_run)
    return step_row.pipeline.steps.get(name="generate.modpo.w1").training_run_id


def run_evaluation_jobs(evaluation: Evaluation, capture) -> None:
    """Run the evaluation's queued job on this thread, as the default-queue worker would."""
    evaluation.refresh_from_db()
    with capture(execute=True):
        job_run(job_id=evaluation.job_id)


def run_chain(pipeline: PipelineRun, capture) -> None:
    """Play every step of the chain to its end: the GPU worker's runs, the evaluation's jobs, a reconcile."""
    for name in (
        "reward.empathy",
        "reward.safety",
        "sft",
        "generate.policy",
        "modpo.w1",
        "generate.modpo.w1",
    ):
        finish(run_of(pipeline, name), capture)
    evaluation = step(pipeline, "h2h").evaluation
    run_evaluation_jobs(evaluation, capture)  # launches the scoring run
    evaluation.refresh_from_db()
    score(evaluation.score_run, capture)
    run_evaluation_jobs(evaluation, capture)  # ingests the scores
    pipelines_reconcile()  # the reconciler sees the evaluation's job end
    pipeline.refresh_from_db()
