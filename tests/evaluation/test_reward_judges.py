"""Reward-model judges: the evaluation job launches a "score" run on the gpu queue, then ingests its scores
as verdicts (tie margin), records unusable rows as failures, and rescores only what is missing."""

import hashlib
import json

import pytest
from django.core.files.base import ContentFile

from core.models import AuditEvent, Job, Status
from core.services import job_run, status_transition
from criteria.models import CriteriaSet
from evaluation.models import Comparison, JudgeKind
from evaluation.services.evaluations import evaluation_create, evaluation_launch
from tests.evaluation.helpers import make_bank
from tests.factories import TrainingRunFactory
from tests.training_worker.play_worker import jsonl, worker_finish
from training_worker.models import RunArtifact, TrainingRun

pytestmark = pytest.mark.django_db

REWARD = {"base": 0.0, "modpo": 1.0}


def _reward_run(criterion: str) -> TrainingRun:
    run = TrainingRunFactory(method="reward", config={"criterion": criterion}, snapshot_hash="f" * 64)
    for status in (Status.QUEUED, Status.RUNNING, Status.SUCCEEDED):
        status_transition(model=TrainingRun, pk=run.pk, to=status)
    artifact = RunArtifact(run=run, name="model", sha256="0" * 64, size=4)
    artifact.file.save(f"rm-{criterion}.tar.gz", ContentFile(b"fake"), save=False)
    artifact.save()
    return TrainingRun.objects.get(pk=run.pk)


def _execute(evaluation, capture) -> dict:
    with capture(execute=False):
        job = evaluation_launch(evaluation=evaluation, actor=evaluation.created_by)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    evaluation.refresh_from_db()
    return job.result


def _finish_scoring(run: TrainingRun, *, broken_item: str | None = None) -> None:
    """Play the gpu worker: reward = 1 for the modpo response, 0 for base (safety: always equal)."""
    items = [json.loads(line) for line in run.inputs.get(name="items").file.open("rb") if line.strip()]
    lines = []
    for item in items:
        first, second = (REWARD[item[key].split("]")[0].lstrip("[")] for key in ("response_a", "response_b"))
        scores = {"empathy": [first, second], "safety": [0.3, 0.3 + 1e-4]}
        if item["item_id"] == broken_item:
            scores = {"empathy": [first, "NaN"]}
        lines.append(json.dumps({"item_id": item["item_id"], "scores": scores}) + "\n")
    payload = "".join(lines).encode()
    artifact = RunArtifact(
        run=run, name="scores", sha256=hashlib.sha256(payload).hexdigest(), size=len(payload)
    )
    artifact.file.save(f"scores-{run.pk}.jsonl", ContentFile(payload), save=False)
    artifact.save()
    for status in (Status.RUNNING, Status.SUCCEEDED):
        status_transition(model=TrainingRun, pk=run.pk, to=status)


def test_scoring_run_then_ingest_then_rescore_only_failures(researcher, django_capture_on_commit_callbacks):
    _, questions, sets = make_bank(models=["base", "modpo"], n_questions=3)
    rewards = [_reward_run("empathy"), _reward_run("safety")]
    evaluation = evaluation_create(
        name="RM",
        criteria_set=CriteriaSet.objects.get(key="therapeutic_eval"),
        response_sets=sets,
        labels=["base", "modpo"],
        judge_kind=JudgeKind.REWARD_MODEL,
        reward_runs=rewards,
        tie_margin=0.01,
        created_by=researcher,
        launch=False,
    )

    first = _execute(evaluation, django_capture_on_commit_callbacks)
    assert first["state"] == "scoring"
    run = evaluation.score_run
    assert run.method == "score" and run.status == Status.QUEUED
    assert set(run.inputs.values_list("name", flat=True)) == {"items", "rm-empathy", "rm-safety"}
    assert run.config["reward_models"] == [
        {"criterion": "empathy", "path": "input:rm-empathy/model"},
        {"criterion": "safety", "path": "input:rm-safety/model"},
    ]
    assert set(run.parents.all()) == set(rewards)
    items = [json.loads(line) for line in run.inputs.get(name="items").file.open("rb")]
    assert len(items) == 3 and {i["prompt"] for i in items} == {q.text for q in questions}

    waiting = _execute(evaluation, django_capture_on_commit_callbacks)
    assert waiting == {"state": "scoring", "score_run": run.pk} and not Comparison.objects.exists()

    _finish_scoring(run, broken_item=items[0]["item_id"])
    ingested = _execute(evaluation, django_capture_on_commit_callbacks)
    assert ingested["state"] == "ingested" and (ingested["ok"], ingested["failed"]) == (2, 1)
    failure = Comparison.objects.get(ok=False)
    assert failure.failure_kind == "invalid_scores" and failure.outcomes is None
    for row in Comparison.objects.filter(ok=True):
        assert row.outcomes == {"empathy": "B", "safety": "tie"}  # modpo (B) wins empathy; 1e-4 < tie margin
        assert row.judge_settings["score_run"] == run.pk
    (pair,) = evaluation.results["pairs"]
    assert (pair["criteria"]["empathy"]["losses"], pair["criteria"]["empathy"]["ties"]) == (2, 0)
    assert evaluation.results["criteria"] == ["empathy", "safety"]

    rescore = _execute(evaluation, django_capture_on_commit_callbacks)
    assert rescore["state"] == "scoring" and rescore["score_run"] != run.pk
    evaluation.refresh_from_db()
    retry_items = [json.loads(line) for line in evaluation.score_run.inputs.get(name="items").file.open("rb")]
    assert [i["item_id"] for i in retry_items] == [items[0]["item_id"]]
    _finish_scoring(evaluation.score_run)
    final = _execute(evaluation, django_capture_on_commit_callbacks)
    assert (final["ok"], final["failed"]) == (1, 0)
    assert (
        Comparison.objects.filter(ok=True).count() == 3 and not Comparison.objects.filter(ok=False).exists()
    )


def test_scores_land_in_the_evaluation_when_the_worker_posts_success(
    researcher, django_capture_on_commit_callbacks
):
    """No second click: the scoring run's success, posted through the worker API, queues the ingest once."""
    _, _, sets = make_bank(models=["base", "modpo"], n_questions=2)
    evaluation = evaluation_create(
        name="RM auto",
        criteria_set=CriteriaSet.objects.get(key="therapeutic_eval"),
        response_sets=sets,
        labels=["base", "modpo"],
        judge_kind=JudgeKind.REWARD_MODEL,
        reward_runs=[_reward_run("empathy")],
        created_by=researcher,
        launch=False,
    )
    assert _execute(evaluation, django_capture_on_commit_callbacks)["state"] == "scoring"
    run = evaluation.score_run
    items = [json.loads(line) for line in run.inputs.get(name="items").file.open("rb") if line.strip()]
    scores = jsonl(
        [
            {
                "item_id": item["item_id"],
                "scores": {
                    "empathy": [
                        REWARD[item[k].split("]")[0].lstrip("[")] for k in ("response_a", "response_b")
                    ]
                },
            }
            for item in items
        ]
    )
    with django_capture_on_commit_callbacks(execute=False) as announced:
        client = worker_finish(run, artifacts={"scores": scores})
    for callback in announced:
        callback()  # the run_finished announcement, as the commit would run it
    evaluation.refresh_from_db()
    job = evaluation.job
    assert (
        job.status == Status.QUEUED and job.idempotency_key == f"evaluation-{evaluation.pk}-scores-{run.pk}"
    )
    job_run(job_id=job.pk)
    job.refresh_from_db()
    evaluation.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.result["state"] == "ingested", job.error
    assert (job.result["ok"], job.result["failed"]) == (2, 0)
    (pair,) = evaluation.results["pairs"]
    assert (pair["criteria"]["empathy"]["wins"], pair["criteria"]["empathy"]["losses"]) == (0, 2)
    # A replayed result announces nothing; announcing again queues no second ingest.
    with django_capture_on_commit_callbacks(execute=False) as replayed:
        replay = client.post(f"/api/worker/runs/{run.pk}/result/", {"status": "succeeded"}, format="json")
    assert replay.status_code == 200 and not replayed
    for callback in announced:
        callback()
    assert Job.objects.filter(kind="evaluation.run").count() == 2  # the scoring launch and one ingest
    assert AuditEvent.objects.filter(action="evaluation.launch").count() == 2
    assert Comparison.objects.filter(evaluation=evaluation).count() == 2
