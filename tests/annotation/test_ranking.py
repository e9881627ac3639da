"""Human ranking: balanced assignment with per-annotator display orders, submissions that must be valid
rankings, skips and flags, and an API where annotators only ever see their own tasks."""

from collections import Counter

import pytest

from annotation.models import HumanRanking, RankingTask
from annotation.selectors.campaigns import task_responses_shown
from annotation.services.ranking import RankingError, ranking_campaign_create, ranking_task_submit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(response_set, mini_criteria, annotators, researcher):
    return ranking_campaign_create(
        name="Campaign",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators,
        annotators_per_item=2,
        created_by=researcher,
        seed=1,
    )


def canonical_ids(task):
    return list(
        task.campaign.response_set.responses.filter(question=task.question)
        .order_by("index")
        .values_list("pk", flat=True)
    )


def test_assignment_is_balanced_and_each_task_has_its_own_order(campaign, annotators):
    tasks = list(campaign.tasks.all())
    assert len(tasks) == 8  # 4 questions x 2 annotators
    per_question = Counter(task.question_id for task in tasks)
    assert set(per_question.values()) == {2}
    assert len({(task.question_id, task.annotator_id) for task in tasks}) == 8  # two different people each
    load = Counter(task.annotator_id for task in tasks)
    assert max(load.values()) - min(load.values()) <= 1
    assert all(sorted(task.response_order) == sorted(canonical_ids(task)) for task in tasks)
    assert len({tuple(task.response_order) for task in tasks}) > 1  # orders are drawn per task


def test_campaign_needs_enough_annotators(response_set, mini_criteria, annotators, researcher):
    with pytest.raises(RankingError, match="at least that many"):
        ranking_campaign_create(
            name="x",
            response_set=response_set,
            criteria_set=mini_criteria,
            annotators=annotators,
            annotators_per_item=4,
            created_by=researcher,
        )
    with pytest.raises(RankingError, match="Only annotators"):
        ranking_campaign_create(
            name="x",
            response_set=response_set,
            criteria_set=mini_criteria,
            annotators=[researcher],
            annotators_per_item=1,
            created_by=researcher,
        )


def test_submission_is_stored_raw_and_in_canonical_order(campaign):
    task = campaign.tasks.first()
    display = {"empathy": [2, 1, 3, 4, 5], "safety": [5, 4, 3, 2, 1]}
    ranking_task_submit(task=task, annotator=task.annotator, rankings=display, comment="hard one")
    task.refresh_from_db()
    assert task.state == RankingTask.State.SUBMITTED and task.comment == "hard one"
    stored = HumanRanking.objects.get(task=task, criterion_key="empathy")
    assert stored.raw == {"display_order": task.response_order, "ranks": display["empathy"]}
    canonical = canonical_ids(task)
    for shown_position, response_id in enumerate(task.response_order):
        assert stored.ranks[canonical.index(response_id)] == display["empathy"][shown_position]
    with pytest.raises(RankingError, match="already submitted"):
        ranking_task_submit(task=task, annotator=task.annotator, rankings=display)


@pytest.mark.parametrize(
    ("rankings", "field"),
    [
        ({"empathy": [1, 1, 2, 3, 4], "safety": [1, 2, 3, 4, 5]}, "empathy"),  # a tie where none is allowed
        ({"empathy": [1, 2, 3, 4], "safety": [1, 2, 3, 4, 5]}, "empathy"),  # too short
        ({"empathy": [1, 2, 3, 4, 6], "safety": [1, 2, 3, 4, 5]}, "empathy"),  # out of range
        ({"empathy": [1, 2, 3, 4, 5]}, "safety"),  # a criterion missing
        ({"empathy": [1, 2, 3, 4, 5], "safety": [1, 2, 3, 4, 5], "bogus": [1, 2, 3, 4, 5]}, "bogus"),
    ],
)
def test_rankings_that_are_not_permutations_are_refused_and_nothing_is_stored(campaign, rankings, field):
    task = campaign.tasks.first()
    with pytest.raises(RankingError) as error:
        ranking_task_submit(task=task, annotator=task.annotator, rankings=rankings)
    assert field in error.value.field_errors
    assert not HumanRanking.objects.exists()
    task.refresh_from_db()
    assert task.state == RankingTask.State.PENDING


def test_ties_only_where_the_campaign_allows_them(response_set, mini_criteria, annotators, researcher):
    tied = ranking_campaign_create(
        name="ties",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators[:1],
        annotators_per_item=1,
        allow_ties=True,
        created_by=researcher,
    )
    task = tied.tasks.first()
    ranking_task_submit(
        task=task, annotator=task.annotator, rankings={"empathy": [1, 1, 3, 4, 4], "safety": [1, 2, 2, 4, 5]}
    )
    assert task.rankings.count() == 2
    other = tied.tasks.exclude(pk=task.pk).first()
    with pytest.raises(RankingError):  # not a standard competition ranking ("1, 1, 2" skips no place)
        ranking_task_submit(
            task=other,
            annotator=other.annotator,
            rankings={"empathy": [1, 1, 2, 3, 4], "safety": [1, 2, 3, 4, 5]},
        )


# ---- API ---------------------------------------------------------------------------------------------


def api_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_annotators_see_only_their_own_tasks(campaign, annotators):
    mine, theirs = annotators[0], annotators[1]
    client = api_for(mine)
    listed = client.get("/api/annotation/tasks/?limit=100").json()["results"]
    assert listed and {task["id"] for task in listed} == set(
        campaign.tasks.filter(annotator=mine).values_list("pk", flat=True)
    )

    other_task = campaign.tasks.filter(annotator=theirs).first()
    assert client.get(f"/api/annotation/tasks/{other_task.pk}/").status_code == 404
    body = {"rankings": {"empathy": [1, 2, 3, 4, 5], "safety": [1, 2, 3, 4, 5]}}
    assert (
        client.post(f"/api/annotation/tasks/{other_task.pk}/submit/", body, format="json").status_code == 404
    )
    assert not HumanRanking.objects.exists()


def test_an_annotator_ranks_through_the_api_and_never_sees_other_rankings(campaign, annotators):
    first, second = annotators[0], annotators[1]
    shared_question = (
        set(campaign.tasks.filter(annotator=first).values_list("question", flat=True))
        & set(campaign.tasks.filter(annotator=second).values_list("question", flat=True))
    ).pop()
    task_first = campaign.tasks.get(annotator=first, question=shared_question)
    task_second = campaign.tasks.get(annotator=second, question=shared_question)
    api_for(first).post(
        f"/api/annotation/tasks/{task_first.pk}/submit/",
        {"rankings": {"empathy": [1, 2, 3, 4, 5], "safety": [5, 4, 3, 2, 1]}, "flagged_harmful": True},
        format="json",
    )
    client = api_for(second)
    detail = client.get(f"/api/annotation/tasks/{task_second.pk}/").json()
    assert detail["my_rankings"] == {} and detail["state"] == "pending"
    shown = task_responses_shown(task=task_second)
    assert [r["text"] for r in detail["responses"]] == [response.text for response in shown]
    assert [r["position"] for r in detail["responses"]] == [1, 2, 3, 4, 5]
    shown_ids = [r["id"] for r in detail["responses"]]
    assert len(set(shown_ids)) == 5 and not set(map(str, shown_ids)) & {
        str(response.pk) for response in shown
    }
    other_ids = [
        r["id"] for r in api_for(first).get(f"/api/annotation/tasks/{task_first.pk}/").json()["responses"]
    ]
    assert not set(shown_ids) & set(other_ids)  # the same responses, unlinkable across tasks
    assert [c["key"] for c in detail["criteria"]] == ["empathy", "safety"]
    assert "rankings" not in detail and "flagged_harmful" not in detail

    bad = client.post(
        f"/api/annotation/tasks/{task_second.pk}/submit/",
        {"rankings": {"empathy": [1, 1, 1, 1, 1], "safety": [1, 2, 3, 4, 5]}},
        format="json",
    )
    assert bad.status_code == 400 and "empathy" in bad.json()
    unknown = client.post(
        f"/api/annotation/tasks/{task_second.pk}/submit/", {"rankings": {}, "extra": 1}, format="json"
    )
    assert unknown.status_code == 400 and "extra" in unknown.json()

    ok = client.post(
        f"/api/annotation/tasks/{task_second.pk}/submit/",
        {"rankings": {"empathy": [5, 4, 3, 2, 1], "safety": [1, 2, 3, 4, 5]}},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["state"] == "submitted"
    again = client.get(f"/api/annotation/tasks/{task_second.pk}/").json()
    assert [r["id"] for r in again["responses"]] == shown_ids  # stable for the task
    mine = again["my_rankings"]
    assert mine == {"empathy": [5, 4, 3, 2, 1], "safety": [1, 2, 3, 4, 5]}  # in the order this annotator saw


def test_skip_needs_a_reason(campaign, annotators):
    task = campaign.tasks.filter(annotator=annotators[0]).first()
    client = api_for(annotators[0])
    assert (
        client.post(f"/api/annotation/tasks/{task.pk}/skip/", {"reason": ""}, format="json").status_code
        == 400
    )
    response = client.post(
        f"/api/annotation/tasks/{task.pk}/skip/",
        {"reason": "The message mentions self-harm; I cannot rank it.", "flagged_harmful": True},
        format="json",
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.state == RankingTask.State.SKIPPED and task.flagged_harmful


def test_roles_are_enforced(campaign, annotators, clinician, researcher):
    annotator_client = api_for(annotators[0])
    for url in [
        "/api/annotation/question-banks/",
        "/api/annotation/response-sets/",
        "/api/annotation/personas/",
        "/api/annotation/judge-jobs/",
        "/api/annotation/snapshots/",
        "/api/annotation/campaigns/",
        f"/api/annotation/campaigns/{campaign.pk}/agreement/",
    ]:
        assert annotator_client.get(url).status_code == 403, url
    assert api_for(clinician).get("/api/annotation/tasks/").status_code == 403
    task = campaign.tasks.first()
    body = {"rankings": {"empathy": [1, 2, 3, 4, 5], "safety": [1, 2, 3, 4, 5]}}
    assert (
        api_for(researcher).post(f"/api/annotation/tasks/{task.pk}/submit/", body, format="json").status_code
        == 403
    )
    from rest_framework.test import APIClient

    assert APIClient().get("/api/annotation/tasks/").status_code == 403
    # Researchers may read every task and the item's rankings, annotators may not.
    assert len(api_for(researcher).get("/api/annotation/tasks/?limit=100").json()["results"]) == 8
    item = f"/api/annotation/response-sets/{campaign.response_set_id}/items/{task.question_id}/rankings/"
    assert annotator_client.get(item).status_code == 403
    assert api_for(researcher).get(item + "?criteria_set=mini").status_code == 200


def test_researcher_creates_a_campaign_through_the_api(response_set, annotators, researcher_api):
    body = {
        "name": "API campaign",
        "response_set": response_set.pk,
        "criteria_set": "therapeutic",
        "annotators": [user.username for user in annotators],
        "annotators_per_item": 3,
    }
    response = researcher_api.post("/api/annotation/campaigns/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["total"] == 12
    outsider = UserFactory()
    bad = researcher_api.post(
        "/api/annotation/campaigns/", {**body, "annotators": [outsider.username]}, format="json"
    )
    assert bad.status_code == 400 and "annotators" in bad.json()
