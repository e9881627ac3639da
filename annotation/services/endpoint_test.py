"""Test a judge endpoint before a long job: ONE real request with the job's own prompt for its first item.

A researcher presses "Test endpoint" on the judge job form (and the evaluation form, through
`judge_endpoint_test_send`): the request goes to the chosen OpenAI-compatible endpoint once (no retry, at
most `judges.outcome.PROBE_TIMEOUT_S` seconds), with the API key from settings, and the page shows the
latency, the HTTP status and whether the answer parses with the parser the job uses. The test is audit-logged
(a persona's text leaves the server); the key is never shown, logged or stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from annotation.models import CandidateResponse, JudgePersona, ResponseSet
from annotation.selectors.responses import rankable_questions
from annotation.services.judging import JudgeJobError, criteria_dicts, judge_client_for
from core.services import audit_record, strip_secrets
from criteria.models import CriteriaSet
from judges.client import JudgeClient, JudgeItem
from judges.endpoint import JudgeEndpoint
from judges.outcome import EndpointProbe, endpoint_probe, single_attempt


def judge_endpoint_test_send(
    *,
    endpoint: JudgeEndpoint,
    item: JudgeItem,
    client_class: type[JudgeClient],
    actor: AbstractBaseUser,
) -> EndpointProbe:
    """Send `item` once with `client_class` (its prompt and parser) and describe what came back."""
    with judge_client_for(single_attempt(endpoint), client_class=client_class) as client:
        outcome = client.judge(
            persona_text=item.persona_text,
            question=item.question,
            responses=item.responses,
            criteria=item.criteria,
            item_id=item.item_id,
        )
    probe = endpoint_probe(outcome)
    if probe.failure_reason:
        probe = replace(probe, failure_reason=strip_secrets(probe.failure_reason, [settings.JUDGE_API_KEY]))
    audit_record(
        action="judge_endpoint.test",
        actor=actor,
        detail={
            "base_url": endpoint.base_url,
            "model": endpoint.model,
            "prompt_version": probe.prompt_version,
            "http_status": probe.http_status,
            "parsed": probe.parsed,
            "failure_kind": probe.failure_kind,
        },
    )
    return probe


def judge_job_endpoint_test(
    *,
    endpoint: JudgeEndpoint,
    response_set: ResponseSet,
    criteria_set: CriteriaSet,
    personas: Sequence[JudgePersona],
    split: str,
    actor: AbstractBaseUser,
) -> EndpointProbe:
    """A judge job's first item (its first persona, first rankable question of the split), sent once."""
    question = rankable_questions(response_set=response_set, split=split).first()
    if not personas:
        raise JudgeJobError(field_errors={"personas": "Choose a persona to test the endpoint with."})
    if question is None:
        raise JudgeJobError(
            field_errors={"response_set": "No question of this set has two responses in that split."}
        )
    responses = CandidateResponse.objects.filter(response_set=response_set, question=question).order_by(
        "index"
    )
    item = JudgeItem(
        item_id="endpoint-test",
        persona_text=min(personas, key=lambda persona: persona.pk).text,
        question=question.text,
        responses=list(responses.values_list("text", flat=True)),
        criteria=criteria_dicts(criteria_set),
    )
    return judge_endpoint_test_send(endpoint=endpoint, item=item, client_class=JudgeClient, actor=actor)
