"""Criteria sets: seeded by migration, readable by every role, versioned on edit by researchers."""

import pytest
from django.test import Client

from criteria.models import CriteriaSet

pytestmark = pytest.mark.django_db

THERAPEUTIC = [
    "empathy",
    "active_listening",
    "self_motivated_change",
    "trust_rapport",
    "patient_autonomy",
    "safety",
]


def test_study_sets_are_seeded():
    sets = {cs.key: cs.criterion_keys for cs in CriteriaSet.objects.filter(is_current=True)}
    assert sets["therapeutic"] == THERAPEUTIC
    assert sets["therapeutic_eval"] == [*THERAPEUTIC, "overall"]
    assert sets["gricean"] == ["quantity", "quality", "relation", "manner", "safety"]
    for criterion in CriteriaSet.objects.get(key="therapeutic").criteria.all():
        assert criterion.question and criterion.better_when and criterion.worse_when


def test_clinicians_read_sets_but_cannot_publish(clinician_api):
    response = clinician_api.get("/api/criteria-sets/")
    assert response.status_code == 200
    assert {item["key"] for item in response.json()} == {"therapeutic", "therapeutic_eval", "gricean"}
    body = {"criteria": [{"key": "x", "name": "X", "question": "q", "better_when": "b", "worse_when": "w"}]}
    assert clinician_api.post("/api/criteria-sets/gricean/versions/", body, format="json").status_code == 403


def test_anonymous_is_refused():
    from rest_framework.test import APIClient

    assert APIClient().get("/api/criteria-sets/").status_code == 403


def new_version_body(extra: dict | None = None) -> dict:
    current = CriteriaSet.objects.get(key="gricean", is_current=True)
    criteria = [
        {field: getattr(c, field) for field in ("key", "name", "question", "better_when", "worse_when")}
        for c in current.criteria.all()
    ]
    criteria[0]["question"] = "Is the length right for what was asked?"
    return {"criteria": criteria, **(extra or {})}


def test_edit_publishes_a_new_version_and_keeps_the_old(researcher_api):
    response = researcher_api.post("/api/criteria-sets/gricean/versions/", new_version_body(), format="json")
    assert response.status_code == 201 and response.json()["version"] == 2
    old = CriteriaSet.objects.get(key="gricean", version=1)
    new = CriteriaSet.objects.get(key="gricean", version=2)
    assert not old.is_current and new.is_current
    assert old.criteria.get(key="quantity").question != new.criteria.get(key="quantity").question
    assert researcher_api.get("/api/criteria-sets/gricean/").json()["version"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"criteria": []}, "criteria"),
        ({"criteria": "empathy"}, "criteria"),
        (
            {
                "criteria": [
                    {"key": "a b", "name": "n", "question": "q", "better_when": "b", "worse_when": "w"}
                ]
            },
            "criteria",
        ),
        (
            {
                "criteria": [
                    {"key": "k", "name": "n", "question": "q", "better_when": "b", "worse_when": "w", "x": 1}
                ]
            },
            "criteria",
        ),
        (
            {
                "criteria": [
                    {"key": "k", "name": "n", "question": "q", "better_when": "b", "worse_when": "w"}
                ]
                * 2
            },
            "criteria",
        ),
        ({"criteria": [], "colour": "blue"}, "colour"),
    ],
)
def test_bad_versions_are_refused_with_field_errors_and_nothing_saved(researcher_api, body, field):
    response = researcher_api.post("/api/criteria-sets/gricean/versions/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert CriteriaSet.objects.filter(key="gricean").count() == 1


def test_unknown_set_is_404(researcher_api):
    assert researcher_api.get("/api/criteria-sets/nope/").status_code == 404


def test_researcher_edits_through_the_page(researcher):
    client = Client()
    client.force_login(researcher)
    page = client.get("/criteria/therapeutic/edit/")
    formset = page.context["formset"]
    data = {
        "form-TOTAL_FORMS": "7",
        "form-INITIAL_FORMS": "6",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    for index, initial in enumerate(formset.initial):
        for key, value in initial.items():
            data[f"form-{index}-{key}"] = value
    data["form-0-name"] = "Empathy (warmth)"
    response = client.post("/criteria/therapeutic/edit/", data)
    assert response.status_code == 302
    current = CriteriaSet.objects.get(key="therapeutic", is_current=True)
    assert current.version == 2 and current.criteria.get(key="empathy").name == "Empathy (warmth)"
    assert current.criterion_keys == THERAPEUTIC
