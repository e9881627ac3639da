"""Generated candidate responses: launching a "generate" run on the gpu queue with the snapshot as its input
and a picked model (a registered base model or a succeeded run's policy), and filling the response set from
the run's responses.jsonl as the run ends, with full provenance (all or nothing, never twice)."""

import hashlib
import json
import tarfile

import pytest
from django.core.files.base import ContentFile

from annotation.models import CandidateResponse, ResponseSet
from core.errors import ApplicationError
from core.models import AuditEvent, Status
from core.services import status_transition
from tests.factories import TrainingRunFactory
from tests.training_worker.play_worker import jsonl, worker_finish
from training_worker.generation.services import (
    GenerationError,
    GenerationOutputError,
    response_set_generate,
    response_set_ingest_generation,
)
from training_worker.model_picker import ModelChoice, model_choice_resolve
from training_worker.models import BaseModel, RunArtifact, TrainingRun

pytestmark = pytest.mark.django_db


def launch(snapshot, researcher, capture, model=None, **options):
    model = model or ModelChoice(base_model=BaseModel.objects.get(name="Tiny base"))
    with capture(execute=False) as callbacks:
        generated = response_set_generate(
            snapshot=snapshot,
            name="Base model, t=0.8",
            model=model,
            created_by=researcher,
            num_responses=2,
            split="test",
            **options,
        )
    return generated, callbacks


def finish(run, rows, *, name="responses"):
    for status in (Status.RUNNING, Status.SUCCEEDED):
        assert status_transition(model=TrainingRun, pk=run.pk, to=status)
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    artifact = RunArtifact(run=run, name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    artifact.file.save("responses.jsonl", ContentFile(data), save=True)


def worker_rows(bank, settings):
    """What training_worker.ml.generate writes: K rows per question of the split."""
    return [
        {
            "question_id": q.external_id,
            "prompt": q.text,
            "response": f"Generated {i} for {q.external_id}",
            "index": i,
            "settings": settings,
        }
        for q in bank.questions.filter(split="test")
        for i in range(2)
    ]


def test_generation_run_is_queued_with_the_snapshot_as_input(
    snapshot, researcher, base, django_capture_on_commit_callbacks
):
    generated, callbacks = launch(snapshot, researcher, django_capture_on_commit_callbacks, temperature=0.7)
    run = TrainingRun.objects.get(pk=generated.training_run_id)
    assert (
        generated.state == ResponseSet.State.GENERATING and generated.origin == ResponseSet.Origin.GENERATED
    )
    assert run.method == "generate" and run.status == Status.QUEUED
    assert (
        run.config["temperature"] == 0.7
        and run.config["num_responses"] == 2
        and run.config["split"] == "test"
    )
    assert run.config["policy"] == base.path and run.base_model == base and not run.parents.exists()
    assert generated.source == "model:Tiny base"
    assert TrainingRun.objects.get(pk=run.pk).snapshot_hash == snapshot.content_hash
    run_input = run.inputs.get(name="snapshot")
    assert run_input.sha256 == snapshot.archive_sha256 and run_input.file.name == snapshot.archive.name
    with run_input.file.open("rb") as handle, tarfile.open(fileobj=handle, mode="r:gz") as tar:
        assert "manifest.json" in tar.getnames()  # at the root: the worker unpacks it as the snapshot dir
    assert len(callbacks) == 1  # the gpu task is sent once the transaction commits


def test_ingest_stores_every_response_with_its_run_and_settings(
    snapshot, researcher, base, django_capture_on_commit_callbacks
):
    generated, _ = launch(snapshot, researcher, django_capture_on_commit_callbacks)
    with pytest.raises(GenerationError, match="ingest once it has succeeded"):
        response_set_ingest_generation(response_set=generated, actor=researcher)
    settings = {
        "policy": base.path,
        "temperature": 0.8,
        "top_p": 1.0,
        "max_new_tokens": 256,
        "seed": 0,
        "batch_size": 8,
    }
    rows = worker_rows(generated.bank, settings)
    rows.append({**rows[0], "question_id": "not-in-bank"})
    rows.append({**rows[0], "index": 7, "response": "   "})
    finish(generated.training_run, rows)
    report = response_set_ingest_generation(response_set=generated, actor=researcher)
    generated.refresh_from_db()
    assert generated.state == ResponseSet.State.READY
    assert report["rows_accepted"] == 2 and report["rows_rejected"] == 2
    assert {r["reason"] for r in report["rejected"]} == {
        "question 'not-in-bank' is not in Test bank",
        "response is empty",
    }
    response = CandidateResponse.objects.get(response_set=generated, index=1)
    assert response.origin == "model:Tiny base"
    assert response.generation_settings == {**settings, "training_run": generated.training_run_id}
    # Ingesting again is a no-op.
    assert response_set_ingest_generation(response_set=generated, actor=researcher) == report
    assert generated.responses.count() == 2


def test_a_bad_responses_file_marks_the_set_failed_and_writes_nothing(
    snapshot, researcher, base, django_capture_on_commit_callbacks
):
    generated, _ = launch(snapshot, researcher, django_capture_on_commit_callbacks)
    rows = worker_rows(generated.bank, {})
    finish(generated.training_run, [*rows, rows[0]])  # the same (question, index) twice
    with pytest.raises(GenerationOutputError, match="twice"):
        response_set_ingest_generation(response_set=generated, actor=researcher)
    generated.refresh_from_db()
    assert generated.state == ResponseSet.State.FAILED and not generated.responses.exists()
    assert "has index 0 twice" in generated.import_report["error"]
    # A failed set is final: asking again neither raises nor stores anything.
    assert response_set_ingest_generation(response_set=generated, actor=researcher) == generated.import_report
    assert not generated.responses.exists()


def test_greedy_decoding_cannot_give_several_responses(snapshot, researcher, base):
    with pytest.raises(ApplicationError) as caught:
        response_set_generate(
            snapshot=snapshot,
            name="x",
            model=ModelChoice(base_model=base),
            created_by=researcher,
            num_responses=3,
            temperature=0.0,
        )
    assert "Greedy decoding" in caught.value.field_errors["num_responses"][0]
    assert not ResponseSet.objects.filter(name="x").exists() and not TrainingRun.objects.exists()


def succeeded_policy(name: str = "MODPO empathy") -> TrainingRun:
    run = TrainingRunFactory(
        method="modpo",
        name=name,
        config={"criterion": "empathy", "weights": {"empathy": 0.7, "safety": 0.3}},
        snapshot_hash="9" * 64,
    )
    for status in (Status.QUEUED, Status.RUNNING, Status.SUCCEEDED):
        status_transition(model=TrainingRun, pk=run.pk, to=status)
    data = b"adapter bytes"
    artifact = RunArtifact(run=run, name="adapter", sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    artifact.file.save("adapter.tar.gz", ContentFile(data), save=True)
    return TrainingRun.objects.get(pk=run.pk)


def test_generation_from_a_trained_policy_takes_its_artifact_as_input_and_parent(
    snapshot, researcher, django_capture_on_commit_callbacks
):
    policy = succeeded_policy()
    generated, _ = launch(
        snapshot,
        researcher,
        django_capture_on_commit_callbacks,
        model=model_choice_resolve(f"run:{policy.pk}"),
    )
    run = generated.training_run
    assert run.config["policy"] == "input:policy/adapter"  # never a worker path
    policy_input = run.inputs.get(name="policy")
    assert policy_input.sha256 == policy.artifacts.get().sha256
    assert policy_input.file.name == policy.artifacts.get().file.name
    assert list(run.parents.all()) == [policy] and run.base_model is None
    assert generated.source == f"model:run #{policy.pk} MODPO empathy"
    assert generated.generation_settings["model"] == f"run:{policy.pk}"


def test_the_set_fills_itself_when_the_worker_posts_success_and_never_twice(
    snapshot, researcher, base, django_capture_on_commit_callbacks
):
    generated, _ = launch(snapshot, researcher, django_capture_on_commit_callbacks)
    run = generated.training_run
    rows = worker_rows(generated.bank, {"seed": 0})
    with django_capture_on_commit_callbacks(execute=True):
        client = worker_finish(run, artifacts={"responses": jsonl(rows)})
    generated.refresh_from_db()
    assert generated.state == ResponseSet.State.READY
    assert generated.import_report["rows_accepted"] == len(rows) == 2
    assert sorted(generated.responses.values_list("index", flat=True)) == [0, 1]
    assert AuditEvent.objects.filter(action="response_set.ingest", actor_label="system").count() == 1
    # The worker replays its result (it lost the answer), then a researcher presses "ingest": no duplicate.
    with django_capture_on_commit_callbacks(execute=True):
        replay = client.post(
            f"/api/worker/runs/{run.pk}/result/", {"status": "succeeded", "metrics": {}}, format="json"
        )
    assert replay.status_code == 200 and replay.json()["created"] is False
    assert response_set_ingest_generation(response_set=generated, actor=researcher)["rows_accepted"] == 2
    assert generated.responses.count() == 2
    assert AuditEvent.objects.filter(action="response_set.ingest").count() == 1


def test_a_bad_file_posted_by_the_worker_fails_the_set_with_the_reason(
    snapshot, researcher, base, django_capture_on_commit_callbacks
):
    generated, _ = launch(snapshot, researcher, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        worker_finish(generated.training_run, artifacts={"responses": b"not json\n"})
    generated.refresh_from_db()
    assert generated.training_run.status == Status.SUCCEEDED  # the run's result stands
    assert generated.state == ResponseSet.State.FAILED and not generated.responses.exists()
    assert generated.import_report["error"].startswith("line 1 of the responses file is not JSON")


def test_a_failed_run_marks_the_set_failed_with_its_error(
    snapshot, researcher, base, django_capture_on_commit_callbacks
):
    generated, _ = launch(snapshot, researcher, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        worker_finish(generated.training_run, status="failed", error="CUDA out of memory")
    generated.refresh_from_db()
    assert generated.state == ResponseSet.State.FAILED
    assert generated.import_report == {
        "error": f"generation run {generated.training_run_id} failed: CUDA out of memory"
    }


def test_the_gpu_generator_reads_our_snapshot_and_its_output_ingests(
    snapshot, researcher, base, tmp_path, django_capture_on_commit_callbacks
):
    """The real training_worker.ml generator (tiny model, CPU) on our exported snapshot, then ingest."""
    pytest.importorskip("torch")
    from training_worker.ml.configs import GenerationRunConfig
    from training_worker.ml.generate import run_generation
    from training_worker.ml.tiny_models import build_tiny_causal_lm

    policy = build_tiny_causal_lm(tmp_path / "policy", seed=0)
    unpacked = tmp_path / "snapshot"
    with snapshot.archive.open("rb") as handle, tarfile.open(fileobj=handle, mode="r:gz") as tar:
        tar.extractall(unpacked, filter="data")
    result = run_generation(
        GenerationRunConfig(policy=str(policy), num_responses=2, max_new_tokens=8, split="test"),
        unpacked,
        tmp_path / "out",
    )
    generated, _ = launch(snapshot, researcher, django_capture_on_commit_callbacks)
    with open(result["artifacts"]["responses"], encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    assert len(rows) == 2  # K=2 for the one test question
    finish(generated.training_run, rows)
    report = response_set_ingest_generation(response_set=generated, actor=researcher)
    non_empty = sum(1 for row in rows if row["response"].strip())
    assert report["rows_accepted"] == non_empty and report["rows_rejected"] == 2 - non_empty
    assert set(generated.responses.values_list("generation_settings__seed", flat=True)) == {0}
