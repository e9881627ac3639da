"""Create the demo study: open, reachable without Prolific, with seeded synthetic responses, personas and
objective weights, so the dashboard and the pages that consume survey data are not empty."""

import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from criteria.models import CriteriaSet
from demo.survey import synthetic_participant
from survey_app.models import ConsentVersion, Study, StudyStatus
from survey_app.selectors import study_completes
from survey_app.services.derived import personas_build, personas_select, weight_sets_derive
from survey_app.services.participants import (
    participant_consent,
    participant_decline,
    participant_eligibility,
    participant_withdraw,
)
from survey_app.services.studies import study_create, study_set_status


class Command(BaseCommand):
    help = "Create (once) an open demo study with seeded synthetic responses, personas and objective weights."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--completes", type=int, default=30)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the app is served.")

    @transaction.atomic
    def handle(self, *args, slug: str, completes: int, seed: int, url: str, **options) -> None:
        actor = get_user_model().objects.filter(username="demo-researcher").first()
        study = Study.objects.filter(slug=slug).first()
        if study is not None and study_completes(study=study) >= completes:
            self.stdout.write(f"Demo study already exists: {url}/s/{slug}/")
            return
        if study is None:
            study = study_create(
                actor=actor,
                fields={
                    "slug": slug,
                    "title": "Demo: what matters in AI mental-health support",
                    "description": "A demonstration study with synthetic responses. Anyone may try it.",
                    "criteria_set": CriteriaSet.objects.get(key="therapeutic", is_current=True),
                    "consent": ConsentVersion.objects.order_by("-version").first(),
                    "quota": 335,
                },
            )
        study_set_status(study=study, actor=actor, status=StudyStatus.OPEN)
        rng = random.Random(seed)
        for _ in range(completes - study_completes(study=study)):
            synthetic_participant(study=study, rng=rng)
        # A realistic funnel around the completes: partials, a screen-out, a decline and a withdrawal.
        for pages in (1, 3, 5):
            synthetic_participant(study=study, rng=rng, complete=False, pages=pages)
        participant_eligibility(
            participant=participant_consent(study=study, prolific=None).participant, eligible=False
        )
        participant_decline(study=study, prolific=None)
        leaving = participant_consent(study=study, prolific=None)
        participant_eligibility(participant=leaving.participant, eligible=True)
        participant_withdraw(study=study, code=leaving.resume_code)
        personas = personas_build(study=study, actor=actor)
        selected = min(20, personas)
        personas_select(
            study=study, actor=actor, n=selected, n_test=selected // 3, min_quality=0.0, seed=seed
        )
        weight_sets = weight_sets_derive(
            study=study, actor=actor, name="Demo weights", safety_floor=0.3, clusters=3, seed=seed
        )
        self.stdout.write(
            f"Demo study ready at {url}/s/{slug}/ with {study_completes(study=study)} completes, "
            f"{personas} personas ({selected} selected) and {len(weight_sets)} objective-weight sets.\n"
            f"Researchers see it at {url}/studies/{slug}/."
        )
