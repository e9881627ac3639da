"""An evaluation judged by an LLM ends as what it produced (partially succeeded with counts when a few
comparisons failed), and "Test endpoint" on the evaluation form sends one pairwise request and shows the
outcome."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent, Status
from core.services import job_run
from criteria.models import CriteriaSet
from evaluation.models import Evaluation, JudgeKind
from evaluation.services.evaluations import evaluation_create, evaluation_launch
from judges.endpoint import JudgeEndpoint
from tests.evaluation.helpers import ChatServer, make_bank, make_personas, refused_url

pytestmark = pytest.mark.django_db

URL = reverse("evaluation-test-endpoint")


def verdicts(payload: dict) -> str:
    """Response A wins every criterion, except for a persona named 'garbage': it answers prose."""
    prompt = payload["messages"][1]["content"]
    if "garbage" in prompt:
        return "Both are fine, I suppose."
    keys = json.loads("[" + prompt.rsplit("criterion keys: ", 1)[1].rstrip(".") + "]")
    return json.dumps({"verdicts": {key: "A" for key in keys}})


@pytest.fixture
def researcher_client(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def test_a_few_failed_comparisons_make_a_partial_run_whose_valid_ones_are_counted(
    settings, researcher, researcher_client, django_capture_on_commit_callbacks
):
    settings.JUDGE_FAILURE_THRESHOLD = 0.25
    _, _, sets = make_bank(models=["base", "sft"], n_questions=4)
    with ChatServer(verdicts) as server:
        evaluation = evaluation_create(
            name="Partly judged",
            criteria_set=CriteriaSet.objects.get(key="therapeutic_eval", is_current=True),
            response_sets=sets,
            judge_kind=JudgeKind.PERSONA,
            personas=make_personas(3) + make_personas(1, prefix="garbage"),
            created_by=researcher,
            endpoint=JudgeEndpoint(base_url=server.base_url, model="m", max_retries=0, backoff_base_s=0.0),
            launch=False,
        )
        with django_capture_on_commit_callbacks(execute=False):
            job = evaluation_launch(evaluation=evaluation, actor=researcher)
        job_run(job_id=job.pk)
    job.refresh_from_db()
    evaluation.refresh_from_db()
    assert job.status == Status.PARTIAL and job.error == ""
    assert job.result["summary"].startswith("4 of 16 comparisons failed (25%; at most 25% may fail)")
    assert evaluation.results["counts"]["ok"] == 12
    page = researcher_client.get(reverse("evaluation-detail", args=[evaluation.pk])).content.decode()
    assert "Partially succeeded</span>" in page and "4 of 16 comparisons failed" in page
    assert "from 12 valid comparisons" in page
    listing = researcher_client.get(reverse("evaluation-list")).content.decode()
    assert "status-partial" in listing and "Partially succeeded" in listing


def evaluation_form(sets, personas, base_url: str, **fields) -> dict:
    return {
        "name": "",
        "criteria_set": "therapeutic_eval",
        "response_sets": [rs.pk for rs in sets],
        "judge_kind": "persona",
        "personas": [p.pk for p in personas],
        "tie_margin": 0,
        "split": "test",
        "response_index": 0,
        "vote_rule": "plurality",
        "seed": 0,
        "temperature": 0,
        "base_url": base_url,
        "model": "judge-model",
        **fields,
    }


def test_the_evaluation_form_tests_the_endpoint_with_one_pairwise_request(researcher_client):
    _, questions, sets = make_bank(models=["base", "sft"], n_questions=2)
    personas = make_personas(2)
    with ChatServer(verdicts) as server:
        ok = researcher_client.post(URL, evaluation_form(sets, personas, server.base_url))
    body = ok.content.decode()
    assert ok.status_code == 200 and "Endpoint test: the answer parses" in body
    assert "<dd data-probe-status>200</dd>" in body and "persona-pairwise-v1" in body
    (request,) = server.requests
    prompt = request["messages"][1]["content"]
    assert personas[0].text in prompt and questions[0].text in prompt
    assert "[base] a reply" in prompt and "[sft] a reply" in prompt
    assert not Evaluation.objects.exists()
    assert AuditEvent.objects.filter(action="judge_endpoint.test").count() == 1


def test_the_evaluation_endpoint_test_reports_unparsable_and_refused_endpoints(researcher_client):
    _, _, sets = make_bank(models=["base", "sft"], n_questions=2)
    garbage = make_personas(1, prefix="garbage")
    with ChatServer(verdicts) as server:
        unparsable = researcher_client.post(URL, evaluation_form(sets, garbage, server.base_url))
    assert unparsable.status_code == 200
    assert "the answer does not parse" in unparsable.content.decode()
    assert "malformed_json" in unparsable.content.decode()
    refused = researcher_client.post(URL, evaluation_form(sets, garbage, refused_url()))
    assert refused.status_code == 200 and "Endpoint test: no answer" in refused.content.decode()
    reward = researcher_client.post(
        URL, evaluation_form(sets, garbage, refused_url(), judge_kind="reward_model")
    )
    assert reward.status_code == 400 and "Only persona judges call an endpoint" in reward.content.decode()
