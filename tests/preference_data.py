"""Fixtures for preference-collection tests: a small bank with K=5 responses per question, personas."""

import json

import pytest

from annotation.models import JudgeJob, JudgePersona, QuestionBank
from annotation.services.banks import question_bank_import
from core.roles import Role
from criteria.models import CriteriaSet, Criterion
from tests.factories import UserFactory

QUESTIONS = [
    ("q1", "I feel so alone since I moved to a new city."),
    ("q2", "My exams are coming and I cannot sleep at all."),
    ("q3", "I keep snapping at my children and feel terrible."),
    ("q4", "Since my father died nothing feels enjoyable anymore."),
]
STYLES = ["warm", "curious", "advice", "dismissive", "safety"]


def response_table(questions=QUESTIONS, k: int = 5) -> bytes:
    """A response table (question_id, question_text, response_id, response_text) with K responses each."""
    lines = []
    for qid, text in questions:
        for index in range(1, k + 1):
            lines.append(
                json.dumps(
                    {
                        "question_id": qid,
                        "question_text": text,
                        "response_id": str(index),
                        "response_text": f"Response {index} to {qid}: a {STYLES[(index - 1) % 5]} reply.",
                    }
                )
            )
    return "\n".join(lines).encode()


@pytest.fixture
def bank_import(researcher):
    return question_bank_import(
        name="Test bank",
        data=response_table(),
        source=QuestionBank.Source.RESPONSE_TABLE,
        response_origin="test-writer",
        created_by=researcher,
        test_count=1,
        split_seed="s",
    )


@pytest.fixture
def response_set(bank_import):
    return bank_import.response_set


@pytest.fixture
def mini_criteria(db) -> CriteriaSet:
    """A two-criterion set (empathy, safety) so tests stay small."""
    criteria_set = CriteriaSet.objects.create(key="mini", version=1, name="Mini", is_current=True)
    for position, key in enumerate(["empathy", "safety"]):
        Criterion.objects.create(
            criteria_set=criteria_set,
            key=key,
            name=key.capitalize(),
            question=f"How good is the {key}?",
            better_when="better",
            worse_when="worse",
            position=position,
        )
    return criteria_set


@pytest.fixture
def personas(db) -> list[JudgePersona]:
    return [
        JudgePersona.objects.create(
            text=f"Persona {name}: I am a test persona.",
            text_sha256=f"{index:064d}",
            origin=JudgePersona.Origin.IMPORTED,
            source_id=name,
        )
        for index, name in enumerate(["valid", "malformed", "badperm", "ratelimit", "timeout"])
    ]


def stored_judge_job(response_set, criteria_set, *, name: str = "judges") -> JudgeJob:
    """A judge job record whose judgements a test writes itself (its endpoint is never called)."""
    return JudgeJob.objects.create(
        name=name,
        response_set=response_set,
        criteria_set=criteria_set,
        base_url="http://127.0.0.1:9/v1",
        model="m",
        temperature=0.0,
        prompt_version="persona-rank-v1",
        prompt_template_sha256="0" * 64,
    )


@pytest.fixture
def annotators(db):
    return [UserFactory(role=Role.ANNOTATOR) for _ in range(3)]
