"""Fixtures for preference-collection tests: a small bank with K=5 responses per question, personas."""

import json

import pytest

from annotation.models import JudgeJob, Judgement, JudgePersona, QuestionBank
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
    return criteria_set_with(["empathy", "safety"], key="mini", version=1, name="Mini", is_current=True)


def criteria_set_with(keys, **fields) -> CriteriaSet:
    """A criteria set (`fields` as for CriteriaSet) with criteria `keys`, in that order, and plain texts."""
    criteria_set = CriteriaSet.objects.create(**fields)
    for position, key in enumerate(keys):
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


# Three persona judges on q1, empathy (rank vectors over responses 0..4 in canonical order):
#   A [1,2,3,4,5] -> points [10, 5, 0, -5,-10]
#   B [2,1,3,5,4] -> points [ 5,10, 0,-10, -5]
#   C [1,3,2,4,5] -> points [10, 0, 5, -5,-10]
#   totals               [25,15, 5,-20,-25]  best 0, worst 4, difference 50, all three prefer 0 to 4.
# Safety: A [1..5] and B [5..1] cancel out -> every score 0 -> no pair.
JUDGE_RANKS = {
    "A": {"empathy": [1, 2, 3, 4, 5], "safety": [1, 2, 3, 4, 5]},
    "B": {"empathy": [2, 1, 3, 5, 4], "safety": [5, 4, 3, 2, 1]},
    "C": {"empathy": [1, 3, 2, 4, 5]},
}


@pytest.fixture
def judged(response_set, mini_criteria, researcher):
    judge_job = stored_judge_job(response_set, mini_criteria, name="hand")
    question = response_set.bank.questions.get(external_id="q1")
    order = list(
        response_set.responses.filter(question=question).order_by("index").values_list("pk", flat=True)
    )
    for index, (name, ranks) in enumerate([*JUDGE_RANKS.items(), ("D", None)]):
        persona = JudgePersona.objects.create(
            text=f"persona {name}", text_sha256=f"{index:064d}", origin="imported", source_id=name
        )
        judge_job.personas.add(persona)
        Judgement.objects.create(
            judge_job=judge_job,
            persona=persona,
            question=question,
            response_order=order,
            ok=ranks is not None,
            ranks=ranks,
            failure_kind="" if ranks else "invalid_permutation",
        )
    return judge_job, question


def personas_named(*names: str) -> list[JudgePersona]:
    """Imported judge personas with short texts, one per name."""
    return [
        JudgePersona.objects.create(
            text=f"Persona {name}: a test persona.",
            text_sha256=f"{index:064d}",
            origin=JudgePersona.Origin.IMPORTED,
            source_id=name,
        )
        for index, name in enumerate(names)
    ]
