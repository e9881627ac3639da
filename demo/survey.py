"""Synthetic responses for the demo study and for tests: plausible, seeded, and valid by construction.

Primary preferences follow the study's published shares (empathy 62.7%, active listening 20.9%, autonomy
6.0%, trust and rapport 5.4%, self-motivated change 5.1%); importance ratings follow the ranking with
noise, so persona consistency scores vary the way real data does.
"""

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from survey_app import instrument as keys
from survey_app.models import Instrument, ItemKind, Participant, Study
from survey_app.selectors import page_items, rankable_criteria, study_criteria, survey_pages
from survey_app.services.participants import (
    page_save,
    participant_consent,
    participant_eligibility,
    survey_submit,
)

PUBLISHED_FIRST_CHOICE = {
    "empathy": 0.627,
    "active_listening": 0.209,
    "patient_autonomy": 0.060,
    "trust_rapport": 0.054,
    "self_motivated_change": 0.051,
}
BENIGN_COMMENTS = [
    "A chatbot could help between appointments, but I would want a person for anything serious.",
    "It should be honest that it is not a human.",
    "Waiting lists are long; something available at night would help.",
]


def synthetic_answers(
    *, study: Study, instrument: Instrument, rng: random.Random
) -> dict[str, dict[str, Any]]:
    """Answers for every survey page: {page key: {item key: value}}."""
    criteria = [c.key for c in study_criteria(study=study)]
    rankable = [c.key for c in rankable_criteria(criteria=study_criteria(study=study))]
    weights = [PUBLISHED_FIRST_CHOICE.get(key, 0.05) for key in rankable]
    first = rng.choices(rankable, weights=weights)[0]
    rest = [key for key in rankable if key != first]
    rng.shuffle(rest)
    order = [first, *rest]
    ranking = {key: position for position, key in enumerate(order, start=1)}
    importance = {}
    for key in criteria:
        base = 4.8 if key not in ranking else 5 - 0.7 * (ranking[key] - 1)
        importance[key] = min(5, max(1, round(base + rng.gauss(0, 0.6))))
    pages: dict[str, dict[str, Any]] = {}
    for page in survey_pages(instrument=instrument):
        answers: dict[str, Any] = {}
        for item in page_items(instrument=instrument, page_key=page["key"]):
            values = [str(value) for value, _ in item.choices]
            if item.kind == ItemKind.IMPORTANCE:
                answers[item.key] = importance
            elif item.kind == ItemKind.RANKING:
                answers[item.key] = ranking
            elif item.kind == ItemKind.ATTENTION:
                answers[item.key] = item.expected_value if rng.random() < 0.9 else rng.choice(values)
            elif item.kind == ItemKind.LIKERT:
                answers[item.key] = rng.choice(values)
            elif item.kind == ItemKind.SINGLE:
                answers[item.key] = rng.choice([v for v in values if v != keys.PREFER_NOT_TO_SAY] or values)
            elif item.kind == ItemKind.MULTI:
                options = [v for v in values if v not in (item.exclusive_value, keys.PREFER_NOT_TO_SAY)]
                answers[item.key] = sorted(rng.sample(options, k=rng.randint(1, min(3, len(options)))))
            elif item.kind == ItemKind.TEXT:
                answers[item.key] = rng.choice(BENIGN_COMMENTS) if rng.random() < 0.3 else None
        pages[page["key"]] = answers
    return pages


def synthetic_participant(
    *, study: Study, rng: random.Random, complete: bool = True, pages: int | None = None
) -> Participant:
    """A participant who consented, passed eligibility and answered `pages` pages (all, then submitted,
    when `complete`), with a plausible duration of 6 to 25 minutes."""
    participant = participant_consent(study=study, prolific=None).participant
    Participant.objects.filter(pk=participant.pk).update(
        consented_at=timezone.now() - timedelta(minutes=rng.uniform(6, 25))
    )
    participant_eligibility(participant=participant, eligible=True)
    answers = synthetic_answers(study=study, instrument=participant.instrument, rng=rng)
    survey = survey_pages(instrument=participant.instrument)
    for number, page in enumerate(survey[: len(survey) if complete else pages], start=1):
        page_save(participant=participant, page_number=number, answers=answers[page["key"]], advance=True)
    if complete:
        survey_submit(participant=participant)
    participant.refresh_from_db()
    return participant
