"""Evaluations record their judge endpoint exactly as judge jobs do, and keep their API's names for it."""

import pytest
from django.urls import reverse

from annotation.models import ENDPOINT_FIELDS, JudgeJob
from evaluation.models import Evaluation
from judges.endpoint import JudgeEndpoint
from tests.evaluation.helpers import make_bank, make_personas

pytestmark = pytest.mark.django_db


def test_judge_jobs_and_evaluations_define_the_endpoint_fields_identically():
    for name in (*ENDPOINT_FIELDS, "prompt_version", "prompt_template_sha256"):
        job_field = JudgeJob._meta.get_field(name)
        evaluation_field = Evaluation._meta.get_field(name)
        assert job_field.deconstruct()[1:] == evaluation_field.deconstruct()[1:], name


def test_api_seed_orders_the_presentation_and_judge_seed_seeds_the_judge(researcher_api, settings):
    _, _, sets = make_bank(models=["m1", "m2"], n_questions=2)
    body = {
        "name": "seeds",
        "criteria_set": "therapeutic_eval",
        "response_sets": [s.pk for s in sets],
        "judge_kind": "persona",
        "personas": [p.pk for p in make_personas(2)],
        "seed": 5,
        "judge_seed": 9,
        "model": "judge-x",
        "requests_per_minute": 0,
        "launch": False,
    }
    created = researcher_api.post(reverse("api-evaluations"), body, format="json")
    assert created.status_code == 201, created.json()
    evaluation = Evaluation.objects.get(pk=created.json()["id"])
    assert evaluation.order_seed == 5
    assert evaluation.endpoint == JudgeEndpoint(
        base_url=settings.JUDGE_API_BASE_URL,
        model="judge-x",
        seed=9,
        max_concurrency=settings.JUDGE_MAX_CONCURRENCY,
    )
    assert created.json()["provenance"]["judge"]["seed"] == 9


def test_form_judge_seed_reaches_the_endpoint(client, researcher):
    _, _, sets = make_bank(models=["m1", "m2"], n_questions=2)
    client.force_login(researcher)
    response = client.post(
        reverse("evaluation-new"),
        {
            "name": "form seeds",
            "criteria_set": "therapeutic_eval",
            "response_sets": [s.pk for s in sets],
            "judge_kind": "persona",
            "personas": [p.pk for p in make_personas(2)],
            "temperature": 0,
            "judge_seed": 4,
            "tie_margin": 0,
            "split": "test",
            "response_index": 0,
            "vote_rule": "plurality",
            "seed": 2,
        },
    )
    evaluation = Evaluation.objects.get(name="form seeds")
    assert response.status_code == 302
    assert (evaluation.order_seed, evaluation.seed, evaluation.job) == (2, 4, None)
