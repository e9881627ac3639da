"""A real GPU-queue worker process trains a run through the worker API, and survives being killed."""

import io
import json
import os
import shutil
import signal
import tarfile
from pathlib import Path

import psutil
import pytest
import redis
from django.core.files.base import ContentFile

from core.models import Status
from core.services import work_reap
from tests.workers import celery_worker, wait_for
from training_worker.models import RunEvent, RunInput, RunToken, TrainingRun
from training_worker.services import training_run_create, training_run_enqueue

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from training_worker.ml.tiny_models import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny_bert", seed=0)


@pytest.fixture(scope="module")
def snapshot_archive(tmp_path_factory) -> bytes:
    from training_worker.ml.toy_data import write_toy_snapshot

    snapshot = write_toy_snapshot(tmp_path_factory.mktemp("snapshot") / "snap", n_questions=16, seed=0)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(snapshot.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(snapshot)), recursive=False)
    return buffer.getvalue()


def create_reward_run(*, researcher, tiny_bert, archive: bytes, max_steps: int, checkpoint_every: int):
    import hashlib

    run = training_run_create(
        name="empathy reward model",
        method="reward",
        config={
            "criterion": "empathy",
            "backbone": str(tiny_bert),
            "max_steps": max_steps,
            "per_device_train_batch_size": 4,
            "log_every_steps": 1,
            "checkpoint_every_steps": checkpoint_every,
            "learning_rate": 1e-3,
            "precision": "fp32",
        },
        created_by=researcher,
    )
    item = RunInput(run=run, name="snapshot", sha256=hashlib.sha256(archive).hexdigest())
    item.file.save("snapshot.tar.gz", ContentFile(archive), save=True)
    return run


def launch_reward_run(**kwargs):
    run = create_reward_run(**kwargs)
    assert training_run_enqueue(run=run)
    return run


@pytest.fixture
def gpu_worker_env(redis_url, tmp_path, live_server, settings):
    from config.celery import app

    redis.Redis.from_url(redis_url).flushdb()
    app.conf.broker_url = redis_url
    settings.PUBLIC_BASE_URL = live_server.url
    return {
        "WORKER_DATA_DIR": str(tmp_path / "worker"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
    }


@pytest.mark.usefixtures("seeded_db")
def test_gpu_worker_trains_a_run_and_posts_everything_back(
    gpu_worker_env, redis_url, researcher, tiny_bert, snapshot_archive, tmp_path
):
    log = tmp_path / "gpu-worker.log"
    with celery_worker(
        app="training_worker.gpu.app",
        queue="gpu",
        broker_url=redis_url,
        log_path=log,
        extra_env=gpu_worker_env,
    ):
        run = launch_reward_run(
            researcher=researcher,
            tiny_bert=tiny_bert,
            archive=snapshot_archive,
            max_steps=6,
            checkpoint_every=3,
        )
        assert wait_for(lambda: TrainingRun.objects.get(pk=run.pk).is_terminal, timeout_s=180), (
            log.read_text()
        )
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error or log.read_text()[-3000:]
    assert run.step == 6 and run.total_steps == 6
    assert list(run.events.values_list("step", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert "loss" in run.events.last().metrics
    assert 0.0 <= run.result["metrics"]["held_out_accuracy"] <= 1.0, json.dumps(run.result)
    assert run.result["lineage"]["config"]["criterion"] == "empathy"
    assert run.result["training"]["resumed_from"] is None
    assert {"model", "result"} <= set(run.artifacts.values_list("name", flat=True))
    assert run.tokens.get().expires_at is not None


@pytest.mark.usefixtures("seeded_db")
def test_killed_worker_child_is_redelivered_and_resumes_from_its_checkpoint(
    gpu_worker_env, redis_url, researcher, tiny_bert, snapshot_archive, tmp_path
):
    log = tmp_path / "gpu-worker.log"
    with celery_worker(
        app="training_worker.gpu.app",
        queue="gpu",
        broker_url=redis_url,
        log_path=log,
        extra_env=gpu_worker_env,
    ) as worker:
        run = launch_reward_run(
            researcher=researcher,
            tiny_bert=tiny_bert,
            archive=snapshot_archive,
            max_steps=80,
            checkpoint_every=5,
        )
        assert wait_for(lambda: TrainingRun.objects.get(pk=run.pk).step >= 12, timeout_s=180), log.read_text()
        children = psutil.Process(worker.pid).children()
        assert len(children) == 1
        os.kill(children[0].pid, signal.SIGKILL)
        assert wait_for(lambda: TrainingRun.objects.get(pk=run.pk).is_terminal, timeout_s=240), (
            log.read_text()
        )
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error or log.read_text()[-3000:]
    assert run.attempts == 2, "the redelivered task claims the run a second time"
    assert run.step == 80
    steps = list(RunEvent.objects.filter(run=run).values_list("step", flat=True))
    assert steps == sorted(set(steps)) and steps[-1] == 80, "each step is recorded once"
    resumed_from = run.result["training"]["resumed_from"]
    assert resumed_from is not None, "the second attempt resumed from a checkpoint"
    assert int(resumed_from.rsplit("-", 1)[1]) >= 10


@pytest.mark.usefixtures("seeded_db")
def test_a_gpu_worker_killed_hard_loses_its_run_to_the_reaper_and_another_worker_resumes_it(
    gpu_worker_env, redis_url, researcher, tiny_bert, snapshot_archive, tmp_path
):
    """kill -9 of the GPU worker's main process and its child (the machine is gone): the run stays RUNNING
    and its heartbeats stop; the reaper requeues it with a fresh token and revokes the silent worker's, and a
    new worker resumes it from the checkpoint the first one left in the shared work directory."""
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    worker = {"app": "training_worker.gpu.app", "queue": "gpu", "broker_url": redis_url}
    settings = {"researcher": researcher, "tiny_bert": tiny_bert, "archive": snapshot_archive}
    with celery_worker(**worker, log_path=first_log, extra_env=gpu_worker_env) as first:
        run = launch_reward_run(**settings, max_steps=80, checkpoint_every=5)
        assert wait_for(lambda: TrainingRun.objects.get(pk=run.pk).step >= 12, timeout_s=180), (
            first_log.read_text()
        )
        for process in [first, *psutil.Process(first.pid).children(recursive=True)]:
            os.kill(process.pid, signal.SIGKILL)
        first.wait(timeout=10)
    first_token = RunToken.objects.get(run=run)
    assert TrainingRun.objects.get(pk=run.pk).status == Status.RUNNING
    assert wait_for(lambda: work_reap() != {}, timeout_s=60), "the silent run is reaped"
    run.refresh_from_db()
    assert run.status == Status.QUEUED
    first_token.refresh_from_db()
    assert first_token.revoked_at is not None, "the silent worker is cut off"
    with celery_worker(**worker, log_path=second_log, extra_env=gpu_worker_env):
        assert wait_for(lambda: TrainingRun.objects.get(pk=run.pk).is_terminal, timeout_s=240), (
            second_log.read_text()
        )
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error or second_log.read_text()[-3000:]
    assert run.attempts == 2 and run.step == 80
    steps = list(RunEvent.objects.filter(run=run).values_list("step", flat=True))
    assert steps == sorted(set(steps)) and steps[-1] == 80, "each step is recorded once"
    assert run.result["training"]["resumed_from"] is not None, "the new worker resumed from a checkpoint"


@pytest.mark.usefixtures("seeded_db")
def test_task_for_a_run_whose_output_is_complete_reposts_it_without_training(
    gpu_worker_env, redis_url, researcher, tiny_bert, snapshot_archive, tmp_path
):
    """What a task redelivered after training finished (but before everything was posted) finds: a work
    directory holding the completed output. It must post that output and result again, and train nothing."""
    log = tmp_path / "gpu-worker.log"
    worker_dir = Path(gpu_worker_env["WORKER_DATA_DIR"])
    settings = {"researcher": researcher, "tiny_bert": tiny_bert, "archive": snapshot_archive}
    with celery_worker(
        app="training_worker.gpu.app",
        queue="gpu",
        broker_url=redis_url,
        log_path=log,
        extra_env=gpu_worker_env,
    ):
        first = launch_reward_run(**settings, max_steps=4, checkpoint_every=2)
        assert wait_for(lambda: TrainingRun.objects.get(pk=first.pk).is_terminal, timeout_s=180), (
            log.read_text()
        )
        second = create_reward_run(**settings, max_steps=4, checkpoint_every=2)
        shutil.copytree(worker_dir / f"run-{first.pk}", worker_dir / f"run-{second.pk}")
        assert training_run_enqueue(run=second)
        assert wait_for(lambda: TrainingRun.objects.get(pk=second.pk).is_terminal, timeout_s=180), (
            log.read_text()
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Status.SUCCEEDED, second.error or log.read_text()[-3000:]
    assert first.events.count() == 4
    assert second.events.count() == 0, "nothing was trained again"
    assert second.result == first.result, "the finished result is posted as it was"
    assert second.result["training"]["global_step"] == 4
    uploaded = {run.pk: dict(run.artifacts.values_list("name", "sha256")) for run in (first, second)}
    assert uploaded[first.pk] == uploaded[second.pk], "the same artifacts, archived to the same bytes"
    assert {"model", "result", "log_history"} <= set(uploaded[second.pk])
