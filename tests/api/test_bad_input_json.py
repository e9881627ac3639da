"""JSON the database cannot store, or nested past any real use, is a 400 naming the field, never a 500."""

import pytest
from django.urls import reverse

from core.parsers import MAX_DEPTH, UnstorableJSON, json_loads_checked
from criteria.models import CriteriaSet
from evaluation.models import StudyAssignment, StudyRating
from tests.evaluation.helpers import make_study
from training_worker.models import RunEvent, TrainingRun

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def test_checks_walk_deep_documents_without_recursion():
    assert json_loads_checked("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(UnstorableJSON, match="nested"):
        json_loads_checked("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(UnstorableJSON, match="nested"):
        json_loads_checked(DEEP)


def test_deeply_nested_json_on_the_worker_api(worker_client):
    client, run = worker_client
    response = client.post(f"/api/worker/runs/{run.pk}/events/", DEEP, content_type="application/json")
    assert response.status_code == 400 and "nested" in response.json()["detail"]
    body = '{"event_id": "a", "step": 1, "metrics": ' + "[" * 100 + "]" * 100 + "}"
    response = client.post(f"/api/worker/runs/{run.pk}/events/", body, content_type="application/json")
    assert response.status_code == 400 and "metrics" in response.json()
    assert not RunEvent.objects.exists()


def test_deeply_nested_json_on_a_researcher_api(researcher_api):
    current = CriteriaSet.objects.filter(is_current=True).first()
    url = reverse("api-criteria-set-version-create", args=[current.key])
    response = researcher_api.post(url, DEEP, content_type="application/json")
    assert response.status_code == 400
    body = '{"criteria": ' + "[" * 70 + "]" * 70 + "}"
    response = researcher_api.post(url, body, content_type="application/json")
    assert response.status_code == 400 and "criteria" in response.json()


@pytest.mark.parametrize(
    "metrics",
    [
        '{"loss": NaN}',
        '{"loss": Infinity}',
        '{"loss": -Infinity}',
        '{"loss": 1e400}',
        '{"note": "a\\u0000b"}',
        '{"note": "\\ud800"}',
        '{"a\\u0000": 1}',
    ],
)
@pytest.mark.parametrize("endpoint", ["events", "result"])
def test_unstorable_metrics_name_the_field(worker_client, endpoint, metrics):
    client, run = worker_client
    fields = '"status": "succeeded"' if endpoint == "result" else '"event_id": "a", "step": 1'
    body = "{" + fields + ', "metrics": ' + metrics + "}"
    response = client.post(f"/api/worker/runs/{run.pk}/{endpoint}/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "metrics" in response.json()
    assert not RunEvent.objects.exists()
    assert TrainingRun.objects.get(pk=run.pk).status == "running"


@pytest.mark.parametrize(
    "body",
    [
        '{"ratings": {}, "comment": "\\ud800"}',
        '{"ratings": {"\\udc00": "A"}}',
        '{"ratings": {}, "comment": "nul \\u0000"}',
    ],
)
def test_lone_surrogates_in_clinician_ratings(researcher, client, body):
    _, clinicians = make_study(researcher=researcher, n_clinicians=2, n_scenarios=2, n_questions=2)
    assignment = StudyAssignment.objects.filter(clinician=clinicians[0]).first()
    client.force_login(clinicians[0])
    url = reverse("api-clinician-item-ratings", args=[assignment.token])
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 400
    field = "comment" if "comment" in body else "ratings"
    assert field in response.json()
    assert not StudyRating.objects.exists()
