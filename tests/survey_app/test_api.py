"""Survey API: researchers only; bad input is a 400 with field errors, unknown studies a 404."""

import pytest

from survey_app.models import ObjectiveWeightSet, Persona
from survey_app.services.derived import personas_build
from tests.survey_app.factories import StudyFactory, completes

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(researcher):
    study = StudyFactory()
    completes(study, 6)
    personas_build(study=study, actor=researcher)
    return study


def test_studies_list_and_detail_with_progress(researcher_api, study):
    listing = researcher_api.get("/api/survey/studies/").json()
    assert listing["results"][0]["slug"] == study.slug and listing["results"][0]["completes"] == 6
    detail = researcher_api.get(f"/api/survey/studies/{study.slug}/").json()
    assert detail["progress"]["completes"] == 6 and detail["state"] == "open"
    assert researcher_api.get("/api/survey/studies/nope/").status_code == 404


def test_selection_then_personas_for_judging(researcher_api, study):
    response = researcher_api.post(
        f"/api/survey/studies/{study.slug}/persona-selection/",
        {"n": 4, "n_test": 1, "min_quality": 0},
        format="json",
    )
    assert response.status_code == 200 and response.json() == {"selected": 4, "train": 3, "test": 1}
    test = researcher_api.get(f"/api/survey/studies/{study.slug}/personas/?split=test").json()
    assert test["count"] == 1 and test["results"][0]["split"] == "test"
    assert researcher_api.get(f"/api/survey/studies/{study.slug}/personas/").json()["count"] == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"n": 4, "n_test": 5}, "non_field_errors"),
        ({"n": 0, "n_test": 0}, "n"),
        ({"n": "four", "n_test": 1}, "n"),
        ({"n": 4, "n_test": 1, "surprise": 1}, "surprise"),
        ({"n": 40, "n_test": 1, "min_quality": 0}, "non_field_errors"),
        ({"n": 4, "n_test": 1, "min_quality": 2}, "min_quality"),
    ],
)
def test_selection_bad_input(researcher_api, study, body, field):
    response = researcher_api.post(
        f"/api/survey/studies/{study.slug}/persona-selection/", body, format="json"
    )
    assert response.status_code == 400 and field in response.json()
    assert not Persona.objects.filter(selected=True).exists()


def test_split_filter_is_validated(researcher_api, study):
    assert researcher_api.get(f"/api/survey/studies/{study.slug}/personas/?split=holdout").status_code == 400


def test_weight_derivation_and_listing(researcher_api, study):
    response = researcher_api.post(
        f"/api/survey/studies/{study.slug}/weight-sets/",
        {"name": "API", "safety_floor": 0.3, "clusters": 2, "seed": 1},
        format="json",
    )
    assert response.status_code == 201
    created = response.json()
    assert created[0]["scope"] == "population" and sum(created[0]["weights"].values()) == pytest.approx(1.0)
    listing = researcher_api.get(f"/api/survey/weight-sets/?study={study.slug}").json()
    assert listing["count"] == len(created)
    assert researcher_api.get("/api/survey/weight-sets/?study=nope").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "safety_floor": 1.0},
        {"name": "x", "safety_floor": "NaN"},
        {"name": "x", "safety_floor": 0.2, "clusters": 99},
        {"name": "x", "safety_floor": 0.2, "weights": {"empathy": 1}},
        {"safety_floor": 0.2},
    ],
)
def test_weight_derivation_bad_input(researcher_api, study, body):
    response = researcher_api.post(f"/api/survey/studies/{study.slug}/weight-sets/", body, format="json")
    assert response.status_code == 400
    assert not ObjectiveWeightSet.objects.exists()


def test_weight_derivation_without_responses_is_a_400(researcher_api):
    empty = StudyFactory()
    response = researcher_api.post(
        f"/api/survey/studies/{empty.slug}/weight-sets/", {"name": "x", "safety_floor": 0.2}, format="json"
    )
    assert response.status_code == 400 and "no complete responses" in response.json()["non_field_errors"][0]


def test_clinicians_are_refused(clinician_api, study):
    assert clinician_api.get("/api/survey/studies/").status_code == 403
    assert clinician_api.get("/api/survey/weight-sets/").status_code == 403
    assert (
        clinician_api.post(
            f"/api/survey/studies/{study.slug}/persona-selection/", {}, format="json"
        ).status_code
        == 403
    )
