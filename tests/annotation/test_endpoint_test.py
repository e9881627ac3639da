""" "Test endpoint" on the judge job form: one real request with the job's own prompt for its first item,
showing latency, HTTP status and whether the answer parses; researchers only, no secret shown, never a 500."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import JudgeJob, JudgePersona
from core.models import AuditEvent, Job
from tests.evaluation.helpers import ChatServer, refused_url

pytestmark = pytest.mark.django_db

API_KEY = "sk-endpoint-test-secret-777"
URL = reverse("annotation-judge-job-test-endpoint")
VALID = json.dumps({"rankings": {"empathy": [1, 2, 3, 4, 5], "safety": [5, 4, 3, 2, 1]}})


@pytest.fixture
def persona(db):
    return JudgePersona.objects.create(
        text="Persona tester: prefers warmth.", text_sha256="7" * 64, origin="imported", source_id="tester"
    )


@pytest.fixture
def researcher_client(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def form(response_set, criteria_set, persona, base_url: str) -> dict:
    return {
        "name": "",
        "response_set": response_set.pk,
        "criteria_set": criteria_set.pk,
        "personas": [persona.pk],
        "split": "all",
        "temperature": 0,
        "base_url": base_url,
        "model": "judge-model",
    }


def test_a_working_endpoint_answers_with_the_jobs_own_prompt_and_it_parses(
    settings, researcher_client, response_set, mini_criteria, persona
):
    settings.JUDGE_API_KEY = API_KEY
    with ChatServer(lambda payload: VALID) as server:
        page = researcher_client.post(URL, form(response_set, mini_criteria, persona, server.base_url))
    body = page.content.decode()
    assert page.status_code == 200 and "Endpoint test: the answer parses" in body
    assert "<dd data-probe-status>200</dd>" in body and " s</dd>" in body
    assert "persona-rank-v1" in body
    (request,) = server.requests  # one request, the job's ranking prompt for its first persona and question
    prompt = request["messages"][1]["content"]
    assert "Persona tester: prefers warmth." in prompt and response_set.bank.questions.first().text in prompt
    assert API_KEY not in body
    assert not JudgeJob.objects.exists() and not Job.objects.exists()
    event = AuditEvent.objects.get(action="judge_endpoint.test")
    assert event.detail["http_status"] == 200 and event.detail["parsed"] is True


def test_an_unparsable_answer_is_shown_with_the_parsers_reason(
    researcher_client, response_set, mini_criteria, persona
):
    with ChatServer(lambda payload: "Response 1 seems best to me.") as server:
        page = researcher_client.post(URL, form(response_set, mini_criteria, persona, server.base_url))
    body = page.content.decode()
    assert page.status_code == 200 and "Endpoint test: the answer does not parse" in body
    assert "<dd data-probe-status>200</dd>" in body and "malformed_json" in body
    assert len(server.requests) == 1  # no retry


def test_a_refused_endpoint_gets_a_clear_message_not_a_500(
    researcher_client, response_set, mini_criteria, persona
):
    page = researcher_client.post(URL, form(response_set, mini_criteria, persona, refused_url()))
    body = page.content.decode()
    assert page.status_code == 200 and "Endpoint test: no answer" in body
    assert "none (no response)" in body and "transport_error" in body and "refused" in body


def test_the_test_needs_what_the_job_needs_and_researchers_only(
    client, annotator, researcher_client, response_set, mini_criteria, persona
):
    incomplete = form(response_set, mini_criteria, persona, "http://127.0.0.1:9/v1")
    del incomplete["personas"]
    refused = researcher_client.post(URL, incomplete)
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    assert researcher_client.get(URL).status_code == 405
    client.force_login(annotator)
    assert (
        client.post(URL, form(response_set, mini_criteria, persona, "http://127.0.0.1:9/v1")).status_code
        == 403
    )
    assert not AuditEvent.objects.filter(action="judge_endpoint.test").exists()


def test_the_form_offers_the_test_and_keeps_launching_on_the_launch_url(researcher_client):
    body = researcher_client.get(reverse("annotation-judge-job-new")).content.decode()
    assert f'formaction="{URL}"' in body and f'action="{reverse("annotation-judge-job-new")}"' in body
