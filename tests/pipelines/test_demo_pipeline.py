"""The demo plan runs end to end through real worker processes: a GPU-queue worker trains and generates with
the tiny offline models, a default-queue worker runs the evaluation's jobs, and `pipeline run --wait`
advances the pipeline until every step has succeeded."""

import json
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import call_command

from pipelines.models import PipelineRun
from tests.workers import celery_worker
from training_worker.models import BaseModel

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
