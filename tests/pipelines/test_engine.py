"""The engine advances on facts: runs, response sets and evaluations launched through their own services,
each step once, a failed step blocking only its dependants, retry, cancel and the reconciler's repair."""

import pytest

from core.models import Status
from pipelines.models import PipelineState, StepState
from pipelines.receivers import pipeline_run_finished
from pipelines.selectors import pipeline_status
from pipelines.services.engine import pipeline_cancel, pipelines_reconcile, step_retry
from tests.pipelines.chain import finish, run_evaluation_jobs, run_of, score, start, step
from tests.training_worker.play_worker import worker_finish
from training_worker.models import TrainingRun

pytestmark = pytest.mark.django_db


def states(pipeline) -> dict[str, str]:
    return {item["name"]: item["state"] for item in pipeline_status(pipeline)["steps"]}


@pytest.fixture
def chain(snapshot, researcher, base, backbone, django_capture_on_commit_callbacks):
    return start(snapshot, researcher, django_capture_on_commit_callbacks)


def test_start_launches_the_steps_without_inputs_through_the_launch_service(chain, snapshot):
    assert states(chain) == {
        "reward.empathy": "running",
        "reward.safety": "running",
        "sft": "running",
        "generate.policy": "running",
        "modpo.w1": "waiting",
        "generate.modpo.w1": "waiting",
        "h2h": "waiting",
        "figures": "waiting",
    }
    reward = run_of(chain, "reward.safety")
    assert reward.status == Status.QUEUED and reward.snapshot_hash == snapshot.content_hash
    assert reward.config["criterion"] == "safety" and reward.inputs.filter(name="snapshot").exists()
    assert step(chain, "generate.policy").response_set.training_run_id is not None


def test_the_whole_chain_runs_to_its_figures(chain, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    for name in ("reward.empathy", "reward.safety", "sft", "generate.policy"):
        finish(run_of(chain, name), capture)
    modpo = run_of(chain, "modpo.w1")
    assert modpo.config["weights"] == {"empathy": 0.6, "safety": 0.4}
    assert [m["criterion"] for m in modpo.config["margin_reward_models"]] == ["safety"]
    assert set(modpo.parents.all()) == {run_of(chain, "sft"), run_of(chain, "reward.safety")}
    finish(modpo, capture)
    finish(run_of(chain, "generate.modpo.w1"), capture)
    evaluation = step(chain, "h2h").evaluation
    assert [e.label for e in evaluation.entrants.all()] == ["policy", "modpo.w1"]
    run_evaluation_jobs(evaluation, capture)  # launches the scoring run
    evaluation.refresh_from_db()
    score(evaluation.score_run, capture)
    run_evaluation_jobs(evaluation, capture)  # ingests the scores
    assert states(chain)["h2h"] == "running"  # the reconciler sees the evaluation's job end
    pipelines_reconcile()
    chain.refresh_from_db()
    assert chain.state == PipelineState.SUCCEEDED, pipeline_status(chain)
    figures = step(chain, "figures").output["figures"]
    assert f"/evaluations/{evaluation.pk}/figures/pareto.svg" in figures.values()
    document = pipeline_status(chain)
    assert all(item["state"] == "succeeded" for item in document["steps"])
    assert document["steps"][0]["output"] == {"metric": "train_loss", "value": 0.5}


def test_the_same_signal_twice_launches_a_step_once(chain, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    for name in ("reward.empathy", "reward.safety", "sft"):
        finish(run_of(chain, name), capture)
    sft = run_of(chain, "sft")
    pipeline_run_finished(run=sft)
    pipeline_run_finished(run=sft)
    pipelines_reconcile()
    assert TrainingRun.objects.filter(method="modpo").count() == 1
    assert step(chain, "modpo.w1").attempts == 1


def test_the_reconciler_launches_what_a_missed_signal_left_waiting(chain, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    for name in ("reward.empathy", "reward.safety"):
        finish(run_of(chain, name), capture)
    with capture(execute=False):  # the run ends, but its run_finished signal is lost
        worker_finish(run_of(chain, "sft"), artifacts={"adapter": b"weights"})
    assert states(chain)["modpo.w1"] == "waiting"
    assert pipelines_reconcile() == [chain.pk]
    assert states(chain)["sft"] == "succeeded" and states(chain)["modpo.w1"] == "running"


def test_a_failed_step_blocks_only_its_dependants_and_a_retry_resumes_them(
    chain, researcher, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    finish(run_of(chain, "sft"), capture, status="failed", error="out of memory")
    for name in ("reward.empathy", "reward.safety", "generate.policy"):
        finish(run_of(chain, name), capture)
    current = states(chain)
    assert current["sft"] == "failed" and current["modpo.w1"] == "blocked" and current["h2h"] == "blocked"
    assert current["generate.policy"] == "succeeded"
    chain.refresh_from_db()
    assert chain.state == PipelineState.FAILED
    assert step(chain, "sft").error.endswith("out of memory")
    first = run_of(chain, "sft")
    with capture(execute=True):
        step_retry(pipeline=chain, name="sft", actor=researcher)
    chain.refresh_from_db()
    retried = step(chain, "sft")
    assert chain.state == PipelineState.RUNNING and retried.state == StepState.RUNNING
    assert retried.training_run != first and retried.training_run.config == first.config
    assert retried.history[0]["training_run"] == first.pk and retried.attempts == 2
    finish(retried.training_run, capture)
    assert states(chain)["modpo.w1"] == "running"


def test_cancelling_a_pipeline_cancels_its_running_work(
    chain, researcher, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline_cancel(pipeline=chain, actor=researcher)
    chain.refresh_from_db()
    assert chain.state == PipelineState.CANCELLED
    assert run_of(chain, "sft").status == Status.CANCELLED
    assert set(states(chain).values()) == {"cancelled"}
    assert not pipeline_cancel(pipeline=chain, actor=researcher)


def test_a_failed_generation_is_retried_into_a_new_response_set(
    chain, researcher, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    finish(run_of(chain, "generate.policy"), capture, status="failed", error="CUDA error")
    failed = step(chain, "generate.policy")
    assert failed.state == StepState.FAILED and "CUDA error" in failed.error
    with capture(execute=True):
        step_retry(pipeline=chain, name="generate.policy", actor=researcher)
    retried = step(chain, "generate.policy")
    assert retried.state == StepState.RUNNING and retried.response_set != failed.response_set
    assert retried.response_set.name.endswith("(attempt 2)")
    finish(retried.training_run, capture)
    assert states(chain)["generate.policy"] == "succeeded"
