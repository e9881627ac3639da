"""Test a persona-judge endpoint from the evaluation form: ONE request with the evaluation's pairwise prompt
for its first comparison (first shared question, the first two models, the first persona), parsed as the run
parses it. See `annotation.services.endpoint_test` for what is sent, shown and audit-logged."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser

from annotation.models import JudgePersona, ResponseSet
from annotation.services.endpoint_test import judge_endpoint_test_send
from annotation.services.judging import criteria_dicts
from criteria.models import CriteriaSet
from evaluation.models import JudgeKind
from evaluation.selectors.evaluations import responses_by_set_and_question, shared_questions
from evaluation.services.evaluations import EvaluationError
from judges.client import JudgeItem
from judges.endpoint import JudgeEndpoint
from judges.outcome import EndpointProbe
from judges.pairwise import PairwiseJudgeClient


def evaluation_endpoint_test(
    *,
    endpoint: JudgeEndpoint,
    judge_kind: str,
    criteria_set: CriteriaSet,
    response_sets: Sequence[ResponseSet],
    personas: Sequence[JudgePersona],
    split: str,
    response_index: int,
    actor: AbstractBaseUser,
) -> EndpointProbe:
    """Refuses (EvaluationError naming the field) what leaves no comparison to send."""
    if judge_kind != JudgeKind.PERSONA:
        raise EvaluationError(field_errors={"judge_kind": "Only persona judges call an endpoint."})
    errors = {}
    if len(response_sets) < 2:
        errors["response_sets"] = "Choose two response sets to compare."
    if not personas:
        errors["personas"] = "Choose a test persona to test the endpoint with."
    if errors:
        raise EvaluationError(field_errors=errors)
    first, second = response_sets[0], response_sets[1]
    question = shared_questions(
        response_sets=[first, second], split=split, response_index=response_index
    ).first()
    if question is None:
        raise EvaluationError(
            field_errors={"response_sets": "These sets share no question with a response at that index."}
        )
    texts = responses_by_set_and_question(
        response_set_ids=[first.pk, second.pk], question_ids=[question.pk], response_index=response_index
    )
    item = JudgeItem(
        item_id="endpoint-test",
        persona_text=min(personas, key=lambda persona: persona.pk).text,
        question=question.text,
        responses=[texts[(first.pk, question.pk)][1], texts[(second.pk, question.pk)][1]],
        criteria=criteria_dicts(criteria_set),
    )
    return judge_endpoint_test_send(
        endpoint=endpoint, item=item, client_class=PairwiseJudgeClient, actor=actor
    )
