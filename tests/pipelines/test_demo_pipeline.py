"""The demo plan runs end to end through real worker processes: a GPU-queue worker trains and generates with
the tiny offline models, a default-queue worker runs the evaluation's jobs, and `pipeline run --wait`
advances the pipeline until every step has succeeded."""

import json
import os
import signal
from io import StringIO
from pathlib import Path

import psutil
import pytest
import redis
from django.core.management import call_command

from core.services import work_reap
from pipelines.models import PipelineRun, PipelineState, StepState
from pipelines.selectors import pipeline_status
from pipelines.services.engine import pipeline_advance
from tests.workers import celery_worker, wait_for
from training_worker.models import BaseModel, TrainingRun

pytestmark = [pytest.mark.services, pytest.mark.slow]

DEMO_PLAN = Path(__file__).resolve().parents[2] / "pipelines" / "demo.yaml"


@pytest.fixture
def demo_models(tmp_path) -> None:
    """The tiny offline models registered under the names the demo plan gives (as demo_setup does)."""
    from training_worker.ml.tiny_models import build_tiny_models

    built = build_tiny_models(tmp_path / "models", seed=0)
    BaseModel.objects.create(name="Demo tiny policy (causal LM)", path=built["policy"])
    BaseModel.objects.create(
        name="Demo tiny BERT (reward backbone)", path=built["tiny_bert"], kind=BaseModel.Kind.REWARD_BACKBONE
    )


def gpu_worker(redis_url: str, tmp_path: Path, log: str):
    """A GPU-queue worker training with the tiny models on the CPU (work directory shared across workers)."""
    env = {
        "WORKER_DATA_DIR": str(tmp_path / "worker"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
    }
    return celery_worker(
        app="training_worker.gpu.app",
        queue="gpu",
        broker_url=redis_url,
        log_path=tmp_path / log,
        extra_env=env,
    )


def default_worker(redis_url: str, tmp_path: Path, live_server, settings):
    return celery_worker(
        app="config.celery",
        queue="default",
        broker_url=redis_url,
        log_path=tmp_path / "default.log",
        extra_env={"PUBLIC_BASE_URL": live_server.url, "ARTIFACT_ROOT": str(settings.MEDIA_ROOT)},
    )


@pytest.mark.usefixtures("seeded_db", "demo_models")
def test_the_demo_plan_runs_end_to_end_through_real_workers(
    redis_url, tmp_path, live_server, settings, snapshot
):
    from config.celery import app

    redis.Redis.from_url(redis_url).flushdb()
    app.conf.broker_url = redis_url
    settings.PUBLIC_BASE_URL = live_server.url
    out = StringIO()
    with (
        gpu_worker(redis_url, tmp_path, "gpu.log"),
        default_worker(redis_url, tmp_path, live_server, settings),
    ):
        try:
            call_command(
                "pipeline", "run", str(DEMO_PLAN), "--snapshot", snapshot.content_hash, "--wait",
                "--poll", "1", "--timeout", "540", stdout=out,
            )  # fmt: skip
        except BaseException:
            print(out.getvalue(), (tmp_path / "gpu.log").read_text(errors="replace")[-4000:])
            raise
    document = json.loads(out.getvalue())
    print("\n".join(f"{step['name']}: {step['duration_s']} s" for step in document["steps"]))
    assert document["state"] == "succeeded"
    assert {step["state"] for step in document["steps"]} == {"succeeded"}
    pipeline = PipelineRun.objects.get(pk=document["id"])
    for row in pipeline.steps.exclude(method="figures"):
        assert row.training_run or row.evaluation, row.name
    soup = pipeline.steps.get(name="soup").training_run
    assert set(soup.parents.all()) == {
        pipeline.steps.get(name=n).training_run for n in ("dpo.empathy", "dpo.safety")
    }
    evaluation = pipeline.steps.get(name="head_to_head").evaluation
    assert evaluation.entrants.count() == 8 and evaluation.results["pareto"] is not None


@pytest.mark.usefixtures("seeded_db", "demo_models")
def test_killing_the_gpu_worker_between_two_steps_still_completes_the_pipeline_each_step_once(
    redis_url, tmp_path, live_server, settings, snapshot
):
    """kill -9 of the GPU worker (and its child) once the first steps have succeeded and the next are queued
    or running; a new GPU worker, the reaper and the advances the reconciler makes finish the pipeline, and
    no step is launched twice."""
    from config.celery import app

    redis.Redis.from_url(redis_url).flushdb()
    app.conf.broker_url = redis_url
    settings.PUBLIC_BASE_URL = live_server.url
    out = StringIO()
    with default_worker(redis_url, tmp_path, live_server, settings):
        with gpu_worker(redis_url, tmp_path, "first.log") as first:
            call_command("pipeline", "run", str(DEMO_PLAN), "--snapshot", snapshot.content_hash, stdout=out)
            pipeline = PipelineRun.objects.get(pk=json.loads(out.getvalue())["id"])
            assert wait_for(
                lambda: pipeline_advance(pipeline_id=pipeline.pk) and sft_next_launched(pipeline),
                timeout_s=300,
            ), (tmp_path / "first.log").read_text(errors="replace")[-3000:]
            for process in [first, *psutil.Process(first.pid).children(recursive=True)]:
                os.kill(process.pid, signal.SIGKILL)
            first.wait(timeout=10)
        with gpu_worker(redis_url, tmp_path, "second.log"):
            ended = wait_for(
                lambda: advance_and_reap(pipeline) != PipelineState.RUNNING, timeout_s=540, interval_s=1
            )
            assert ended, pipeline_status(pipeline)
    pipeline.refresh_from_db()
    document = pipeline_status(pipeline)
    assert pipeline.state == PipelineState.SUCCEEDED, document
    assert {step["attempts"] for step in document["steps"]} == {1}, "each step launched once"
    linked = {row.training_run_id for row in pipeline.steps.all()} | {
        row.response_set.training_run_id for row in pipeline.steps.exclude(response_set=None)
    }
    linked |= {row.evaluation.score_run_id for row in pipeline.steps.exclude(evaluation=None)}
    linked.discard(None)
    assert TrainingRun.objects.count() == len(linked), "no run was created twice"


def sft_next_launched(pipeline: PipelineRun) -> bool:
    """The SFT step succeeded and a step taking its output has been launched."""
    states = dict(pipeline.steps.values_list("name", "state"))
    return states["sft"] == StepState.SUCCEEDED and states["dpo.empathy"] != StepState.WAITING


def advance_and_reap(pipeline: PipelineRun) -> str:
    """What Celery beat does in production: the reaper takes back the killed worker's run, the reconciler
    advances the pipeline."""
    work_reap()
    return pipeline_advance(pipeline_id=pipeline.pk).state
