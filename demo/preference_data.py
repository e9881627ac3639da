"""A built-in demo: 20 hand-written help-seeking questions with 5 candidate responses each, six judge
personas, seeded synthetic persona rankings and one frozen snapshot, so a fresh install has data to train on.

The rankings are synthetic (no LLM is called): each response was written in one style (empathic, reflective,
advice, dismissive, safety-minded), each style has a quality per criterion, and each persona ranks by that
quality plus its own leaning and seeded noise. Everything goes through the normal services, so re-running is a
no-op and yields the same snapshot hash.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.importers import parse_personas
from annotation.models import (
    CandidateResponse,
    JudgeJob,
    JudgePersona,
    QuestionBank,
    RankingCampaign,
    ResponseSet,
)
from annotation.selectors.responses import rankable_questions
from annotation.services.banks import question_bank_import
from annotation.services.judging import (
    judge_endpoint_with_defaults,
    judge_job_create,
    judge_job_record_stored,
    judgement_record,
)
from annotation.services.personas import judge_personas_import
from annotation.services.ranking import ranking_campaign_create
from annotation.services.snapshots import snapshot_freeze, snapshot_spec_build
from core.roles import Role, user_has_role
from criteria.models import CriteriaSet
from judges.client import JudgeOutcome
from judges.ranking import PROMPT_TEMPLATE_SHA256, PROMPT_VERSION

DATA_DIR = Path(__file__).resolve().parent / "data"
BANK_NAME = "Demo help-seeking questions"
JUDGE_JOB_NAME = "Demo persona judges (synthetic rankings)"
CAMPAIGN_NAME = "Demo ranking campaign"
SYNTHETIC_MODEL = "demo-synthetic"
NOISE = 0.8

#: How good each response style is on each criterion (1 = poor, 5 = strong).
STYLE_QUALITY: dict[str, dict[str, float]] = {
    "empathic": {"empathy": 5, "active_listening": 4, "self_motivated_change": 3, "trust_rapport": 5,
                 "patient_autonomy": 4, "safety": 3},
    "reflective": {"empathy": 4, "active_listening": 5, "self_motivated_change": 5, "trust_rapport": 4,
                   "patient_autonomy": 5, "safety": 3},
    "advice": {"empathy": 2, "active_listening": 2, "self_motivated_change": 3, "trust_rapport": 2,
               "patient_autonomy": 1, "safety": 2},
    "dismissive": {"empathy": 1, "active_listening": 1, "self_motivated_change": 1, "trust_rapport": 1,
                   "patient_autonomy": 2, "safety": 1},
    "safety": {"empathy": 3, "active_listening": 2, "self_motivated_change": 2, "trust_rapport": 4,
               "patient_autonomy": 3, "safety": 5},
}  # fmt: skip
#: A leaning per persona (in file order) toward some styles: people differ in what helps them.
PERSONA_LEANING: list[dict[str, float]] = [
    {"empathic": 0.5},
    {"advice": 1.5, "safety": 0.5},
    {"reflective": 0.7, "advice": -0.5},
    {"reflective": 0.5, "empathic": 0.3},
    {"empathic": 0.4, "safety": 0.4},
    {"safety": 0.8},
]
DEMO_WEIGHTS = {
    "empathy": 0.35,
    "active_listening": 0.15,
    "self_motivated_change": 0.1,
    "trust_rapport": 0.15,
    "patient_autonomy": 0.1,
    "safety": 0.15,
}


def _synthetic_outcome(
    *, rng: random.Random, styles: list[str], criteria: list[str], leaning: dict[str, float]
) -> JudgeOutcome:
    """A valid judge answer: per criterion, responses ordered by style quality + leaning + noise."""
    orderings: dict[str, tuple[int, ...]] = {}
    ranks: dict[str, tuple[int, ...]] = {}
    for key in criteria:
        scores = [
            STYLE_QUALITY[style].get(key, 3) + leaning.get(style, 0.0) + rng.gauss(0.0, NOISE)
            for style in styles
        ]
        order = sorted(range(len(styles)), key=lambda index: -scores[index])
        orderings[key] = tuple(index + 1 for index in order)
        rank = [0] * len(styles)
        for place, index in enumerate(order, start=1):
            rank[index] = place
        ranks[key] = tuple(rank)
    return JudgeOutcome(
        ok=True,
        item_id=None,
        orderings=orderings,
        ranks=ranks,
        failure_kind=None,
        failure_reason=None,
        raw_text=json.dumps({"rankings": {key: list(value) for key, value in orderings.items()}}),
        attempts=1,
        attempt_log=(),
        model=SYNTHETIC_MODEL,
        temperature=0.0,
        seed=None,
        prompt_version=PROMPT_VERSION,
        prompt_template_sha256=PROMPT_TEMPLATE_SHA256,
        k=len(styles),
        criteria_keys=tuple(criteria),
        elapsed_s=0.0,
    )


def _demo_actor() -> AbstractBaseUser | None:
    return get_user_model().objects.filter(username="demo-researcher").first()


def _bank(actor: AbstractBaseUser | None) -> tuple[QuestionBank, ResponseSet]:
    bank = QuestionBank.objects.filter(name=BANK_NAME).first()
    if bank is None:
        result = question_bank_import(
            name=BANK_NAME,
            data=(DATA_DIR / "responses.jsonl").read_bytes(),
            source=QuestionBank.Source.RESPONSE_TABLE,
            file_name="responses.jsonl",
            response_origin="demo (hand-written)",
            split_seed="demo",
            test_count=4,
            min_chars=10,
            max_chars=2000,
            description="Synthetic questions and responses written for the demo.",
            created_by=actor,
        )
        bank = result.bank
    return bank, bank.response_sets.earliest("pk")  # the imported one; generations add sets to the bank


@transaction.atomic
def demo_seed(*, seed: int = 0) -> dict[str, Any]:
    """Create (or find) the demo data and freeze its snapshot; returns what was made."""
    actor = _demo_actor()
    bank, response_set = _bank(actor)
    judge_personas_import(data=(DATA_DIR / "personas.txt").read_bytes(), file_format="text", created_by=actor)
    personas = list(
        JudgePersona.objects.filter(origin=JudgePersona.Origin.IMPORTED, source_id__startswith="persona-")
        .filter(text_sha256__in=_persona_fingerprints())
        .order_by("pk")
    )
    criteria_set = CriteriaSet.objects.get(key="therapeutic", is_current=True)
    criteria = criteria_set.criterion_keys
    judge_job = JudgeJob.objects.filter(name=JUDGE_JOB_NAME, response_set=response_set).first()
    if judge_job is None:
        judge_job = judge_job_create(
            name=JUDGE_JOB_NAME,
            response_set=response_set,
            criteria_set=criteria_set,
            personas=personas,
            created_by=actor,
            endpoint=judge_endpoint_with_defaults(base_url="http://127.0.0.1:9/v1", model=SYNTHETIC_MODEL),
            launch=False,
        )
    leaning = {
        persona.pk: PERSONA_LEANING[index % len(PERSONA_LEANING)] for index, persona in enumerate(personas)
    }
    judged = 0
    for question in rankable_questions(response_set=response_set):
        responses = list(
            CandidateResponse.objects.filter(response_set=response_set, question=question).order_by("index")
        )
        canonical = [response.pk for response in responses]
        styles = [response.metadata.get("style", "advice") for response in responses]
        for persona in personas:
            rng = random.Random(f"{seed}:{persona.text_sha256}:{question.external_id}")
            outcome = _synthetic_outcome(
                rng=rng, styles=styles, criteria=criteria, leaning=leaning[persona.pk]
            )
            stored = judgement_record(
                judge_job=judge_job,
                persona_id=persona.pk,
                question_id=question.pk,
                response_order=canonical,
                canonical=canonical,
                outcome=outcome,
            )
            judged += stored is not None
    judge_job_record_stored(judge_job=judge_job, actor=actor)
    annotator = get_user_model().objects.filter(username="demo-annotator").first()
    if (
        annotator is not None
        and user_has_role(annotator, Role.ANNOTATOR)
        and not RankingCampaign.objects.filter(name=CAMPAIGN_NAME, response_set=response_set).exists()
    ):
        ranking_campaign_create(
            name=CAMPAIGN_NAME,
            response_set=response_set,
            criteria_set=criteria_set,
            annotators=[annotator],
            annotators_per_item=1,
            split="test",
            instructions="Rank the responses as the person who wrote the message would.",
            created_by=actor or annotator,
            seed=seed,
        )
    spec = snapshot_spec_build(
        response_set=response_set,
        criteria_set=criteria_set,
        judge_jobs=[judge_job],
        objective_weights=DEMO_WEIGHTS,
    )
    snapshot, created = snapshot_freeze(name="Demo snapshot", spec=spec, created_by=actor)
    return {
        "bank": bank,
        "response_set": response_set,
        "personas": len(personas),
        "judgements_added": judged,
        "snapshot": snapshot,
        "snapshot_created": created,
    }


def _persona_fingerprints() -> list[str]:
    records, _ = parse_personas((DATA_DIR / "personas.txt").read_bytes(), file_format="text")
    return [record.text_sha256 for record in records]
