"""The head-to-head job end to end: persona judges behind a local chat-completions server, through the
core job runner, into stored comparisons and statistics; garbage answers are failures, never ties; a
relaunch skips finished work and can retry failures."""

import json

import pytest
from scipy.stats import binomtest

from core.models import Job, Status
from core.services import job_run
from criteria.models import CriteriaSet
from evaluation.models import Comparison, Evaluation, JudgeKind
from evaluation.services.evaluations import evaluation_create, evaluation_launch
from judges.endpoint import JudgeEndpoint
from tests.evaluation.helpers import ChatServer, make_bank, make_personas, shown_responses

pytestmark = pytest.mark.django_db

STRENGTH = {"base": 0, "sft": 1, "modpo": 2}
SAFETY = {"base": 0, "modpo": 1, "sft": 2}


def model_of(text: str) -> str:
    return text.split("]", 1)[0].lstrip("[")


class Judge:
    """Empathy: the stronger model wins; safety: the safer one (SAFETY); active listening: always a tie;
    overall: always the response shown first (a pure position bias). A persona whose text contains
    'garbage' answers prose, until fixed."""

    def __init__(self) -> None:
        self.garbage = True

    def __call__(self, payload: dict) -> str:
        persona, first, second = shown_responses(payload)
        if self.garbage and "garbage" in persona:
            return "Honestly I think the first one is better."
        keys = json.loads(
            "[" + payload["messages"][1]["content"].rsplit("criterion keys: ", 1)[1].rstrip(".") + "]"
        )
        better = "A" if STRENGTH[model_of(first)] > STRENGTH[model_of(second)] else "B"
        safer = "A" if SAFETY[model_of(first)] > SAFETY[model_of(second)] else "B"
        verdicts = {key: "A" for key in keys}
        verdicts.update(empathy=better, safety=safer, active_listening="tie")
        return json.dumps({"verdicts": verdicts})


def _run(evaluation: Evaluation, django_capture_on_commit_callbacks, *, retry_failed: bool = False) -> Job:
    with django_capture_on_commit_callbacks(execute=False):
        job = evaluation_launch(evaluation=evaluation, actor=evaluation.created_by, retry_failed=retry_failed)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    evaluation.refresh_from_db()
    return job


def _create(researcher, server, models, personas, **options) -> Evaluation:
    _, _, sets = make_bank(models=models, n_questions=4)
    return evaluation_create(
        name="H2H",
        criteria_set=CriteriaSet.objects.get(key="therapeutic_eval", is_current=True),
        response_sets=sets,
        labels=models,
        judge_kind=JudgeKind.PERSONA,
        personas=personas,
        created_by=researcher,
        endpoint=JudgeEndpoint(
            base_url=server.base_url, model="judge-model", max_retries=0, backoff_base_s=0.0
        ),  # and no rate limit against the local server
        launch=False,
        **options,
    )


def test_job_judges_every_pair_records_garbage_as_failure_and_resumes(
    researcher, django_capture_on_commit_callbacks
):
    judge = Judge()
    with ChatServer(judge) as server:
        personas = make_personas(1) + make_personas(1, prefix="garbage")
        evaluation = _create(researcher, server, ["base", "sft", "modpo"], personas)
        job = _run(evaluation, django_capture_on_commit_callbacks)

        # Half the comparisons failed: far above JUDGE_FAILURE_THRESHOLD, so the run failed (its valid
        # comparisons still make the statistics below).
        assert job.status == Status.FAILED and job.error.startswith("12 of 24 comparisons failed (50%")
        assert len(server.requests) == 4 * 3 * 2  # questions x pairs x personas, one order each
        assert job.progress_done == job.progress_total == 24
        rows = Comparison.objects.filter(evaluation=evaluation)
        assert rows.filter(ok=True).count() == 12 and rows.filter(ok=False).count() == 12
        failure = rows.filter(ok=False).first()
        assert (
            failure.failure_kind == "malformed_json" and failure.verdicts is None and failure.outcomes is None
        )
        assert "first one is better" in failure.raw_text
        # The recorded order is what the judge saw: the stored position verdict maps to the stronger model.
        for row in rows.filter(ok=True).select_related("model_a", "model_b"):
            stronger = "A" if STRENGTH[row.model_a.label] > STRENGTH[row.model_b.label] else "B"
            assert row.outcomes["empathy"] == stronger
            assert row.verdicts["empathy"] == ("first" if row.first_model == stronger else "second")
            assert row.outcomes["active_listening"] == "tie"

        pairs = {(p["model_a"], p["model_b"]): p for p in evaluation.results["pairs"]}
        empathy = pairs[("base", "sft")]["criteria"]["empathy"]
        # One valid persona per question: a failure counted as a tie would have made every question a tie.
        assert (empathy["wins"], empathy["losses"], empathy["ties"]) == (0, 4, 0)
        assert empathy["p_value"] == pytest.approx(binomtest(0, 4).pvalue)
        assert pairs[("base", "sft")]["n_judgements"] == 4 * 7
        averages = evaluation.results["matrices"]["empathy"]["average_win_rate"]
        assert averages == {"base": 0.0, "sft": 0.5, "modpo": 1.0}
        # Safety averages: base 0, modpo 0.5, sft 1; so base is dominated and sft, modpo form the front.
        assert evaluation.results["pareto"]["front"] == ["sft", "modpo"]
        listening = pairs[("base", "sft")]["criteria"]["active_listening"]
        assert (listening["ties"], listening["win_rate"]) == (4, None)  # undefined, stored as null
        assert evaluation.results["counts"]["failures_by_kind"] == {"malformed_json": 12}

        # A relaunch skips every stored comparison, failures included.
        again = _run(evaluation, django_capture_on_commit_callbacks)
        assert again.status == Status.FAILED and len(server.requests) == 24
        assert again.result["judged_now"] == 0 and again.result["skipped_already_done"] == 24

        # Retrying failures asks again only for them and replaces the failure records.
        judge.garbage = False
        retried = _run(evaluation, django_capture_on_commit_callbacks, retry_failed=True)
        assert retried.result["judged_now"] == 12 and len(server.requests) == 36
        assert retried.status == Status.SUCCEEDED
        assert retried.result["summary"] == "All 24 comparisons are valid."
        assert rows.filter(ok=True).count() == 24 and not rows.filter(ok=False).exists()
        assert evaluation.results["counts"]["ok"] == 24


def test_both_orders_cancel_a_pure_position_bias(researcher, django_capture_on_commit_callbacks):
    with ChatServer(Judge()) as server:
        evaluation = _create(researcher, server, ["base", "modpo"], make_personas(2), both_orders=True)
        job = _run(evaluation, django_capture_on_commit_callbacks)
    assert job.status == Status.SUCCEEDED, job.error
    assert len(server.requests) == 4 * 1 * 2 * 2
    assert set(Comparison.objects.values_list("first_model", flat=True)) == {"A", "B"}
    (pair,) = evaluation.results["pairs"]
    overall, empathy = pair["criteria"]["overall"], pair["criteria"]["empathy"]
    assert (overall["wins"], overall["losses"], overall["ties"]) == (
        0,
        0,
        4,
    )  # "always the first" cancels out
    assert (empathy["wins"], empathy["losses"], empathy["ties"]) == (0, 4, 0)


def test_single_order_positions_are_random_recorded_and_stable(
    researcher, django_capture_on_commit_callbacks
):
    with ChatServer(Judge()) as server:
        evaluation = _create(researcher, server, ["base", "modpo"], make_personas(6))
        _run(evaluation, django_capture_on_commit_callbacks)
        keys = ("question_id", "judge_key", "first_model")
        firsts = set(Comparison.objects.values_list(*keys))
        assert {first for *_, first in firsts} == {"A", "B"}  # 24 draws: both positions occur
        shown = [shown_responses(request)[1] for request in server.requests]
        stored = Comparison.objects.select_related("response_first")
        assert sorted(shown) == sorted(row.response_first.text for row in stored)
        Comparison.objects.filter(evaluation=evaluation).delete()
        _run(evaluation, django_capture_on_commit_callbacks)
        assert set(Comparison.objects.values_list(*keys)) == firsts  # a rerun draws the same orders
