"""Factories and helpers for survey tests: studies, and participants moved along the journey by the same
services the pages use."""

import random
from typing import Any

import factory

from criteria.models import CriteriaSet
from demo.survey import synthetic_answers, synthetic_participant
from survey_app.models import ConsentVersion, Participant, Study, StudyStatus
from survey_app.selectors import survey_pages
from survey_app.services.participants import (
    Enrolment,
    page_save,
    participant_consent,
    participant_eligibility,
)


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    slug = factory.Sequence(lambda n: f"study-{n}")
    title = factory.Sequence(lambda n: f"Lived experience study {n}")
    criteria_set = factory.LazyFunction(lambda: CriteriaSet.objects.get(key="therapeutic", is_current=True))
    consent = factory.LazyFunction(lambda: ConsentVersion.objects.order_by("-version").first())
    status = StudyStatus.OPEN
    quota = 100
    completion_code = "DONE1234"
    screenout_code = "SCRN5678"


def enrol(study: Study, *, prolific: dict[str, str] | None = None, eligible: bool = True) -> Enrolment:
    """A participant who consented and answered the eligibility questions."""
    enrolment = participant_consent(study=study, prolific=prolific)
    participant_eligibility(participant=enrolment.participant, eligible=eligible)
    enrolment.participant.refresh_from_db()
    return enrolment


def answer_pages(participant: Participant, *, seed: int = 1, overrides: dict[str, Any] | None = None) -> None:
    """Answer every survey page with valid synthetic answers (`overrides` by item key)."""
    answers = synthetic_answers(
        study=participant.study, instrument=participant.instrument, rng=random.Random(seed)
    )
    for number, page in enumerate(survey_pages(instrument=participant.instrument), start=1):
        values = {key: (overrides or {}).get(key, value) for key, value in answers[page["key"]].items()}
        page_save(participant=participant, page_number=number, answers=values, advance=True)
    participant.refresh_from_db()


def completes(study: Study, count: int, *, seed: int = 3) -> list[Participant]:
    rng = random.Random(seed)
    return [synthetic_participant(study=study, rng=rng) for _ in range(count)]
