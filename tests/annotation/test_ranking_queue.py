"""An annotator's queue: counts to do / done / skipped over open campaigns, Continue to the next task, an
idempotent skip, and an incomplete ranking answered with an error summary that links to each criterion."""

import re

import pytest

from annotation.models import RankingTask
from annotation.selectors.campaigns import annotator_queue
from annotation.services.ranking import (
    RankingError,
    ranking_campaign_close,
    ranking_campaign_create,
    ranking_task_skip,
    ranking_task_submit,
)

pytestmark = pytest.mark.django_db

PERMUTATION = [1, 2, 3, 4, 5]


def _campaign(name, response_set, mini_criteria, annotator, researcher):
    return ranking_campaign_create(
        name=name,
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=[annotator],
        annotators_per_item=1,
        created_by=researcher,
        seed=3,
    )


def _counts(page: str) -> dict[str, int]:
    return {label: int(value) for label, value in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", page)}


def test_home_shows_the_ranking_queue_and_continue_leads_to_the_next_task(
    client, response_set, mini_criteria, annotators, researcher
):
    annotator = annotators[0]
    campaign = _campaign("Queue", response_set, mini_criteria, annotator, researcher)
    first, second, third, _ = campaign.tasks.order_by("id")
    ranking_task_submit(
        task=first, annotator=annotator, rankings={"empathy": PERMUTATION, "safety": PERMUTATION}
    )
    ranking_task_skip(task=second, annotator=annotator, reason="I cannot judge this one.")

    client.force_login(annotator)
    for url in ("/", "/annotate/"):
        page = client.get(url).content.decode()
        assert _counts(page) == {"To do": 2, "Done": 1, "Skipped": 1}, url
        assert f'<a class="button" href="/annotate/tasks/{third.pk}/">Continue</a>' in page, url


def test_queue_counts_open_campaigns_only_and_continues_with_the_newest(
    response_set, mini_criteria, annotators, researcher
):
    annotator = annotators[0]
    older = _campaign("Older", response_set, mini_criteria, annotator, researcher)
    newer = _campaign("Newer", response_set, mini_criteria, annotator, researcher)
    queue = annotator_queue(user=annotator)
    assert (queue.to_do, queue.done, queue.skipped) == (8, 0, 0)
    assert queue.next_task_id == newer.tasks.order_by("id").first().pk

    ranking_campaign_close(campaign=newer, actor=researcher)
    queue = annotator_queue(user=annotator)
    assert (queue.to_do, queue.next_task_id) == (4, older.tasks.order_by("id").first().pk)
    ranking_campaign_close(campaign=older, actor=researcher)
    assert annotator_queue(user=annotator) == type(queue)(to_do=0, done=0, skipped=0, next_task_id=None)


def test_home_says_when_nothing_is_assigned_and_when_everything_is_done(
    client, response_set, mini_criteria, annotators, researcher
):
    annotator = annotators[0]
    client.force_login(annotator)
    assert "No ranking tasks are assigned to you yet" in client.get("/").content.decode()

    campaign = _campaign("All done", response_set, mini_criteria, annotator, researcher)
    for task in campaign.tasks.all():
        ranking_task_skip(task=task, annotator=annotator, reason="Outside my experience.")
    page = client.get("/").content.decode()
    assert _counts(page) == {"To do": 0, "Done": 0, "Skipped": 4}
    assert "All done. Thank you!" in page and ">Continue</a>" not in page


def test_skipping_twice_is_recorded_once(client, response_set, mini_criteria, annotators, researcher):
    annotator = annotators[0]
    campaign = _campaign("Skip twice", response_set, mini_criteria, annotator, researcher)
    task, following = campaign.tasks.order_by("id")[:2]
    client.force_login(annotator)
    for reason in ("The message is about a child.", "A second click"):
        response = client.post(f"/annotate/tasks/{task.pk}/skip/", {"reason": reason})
        assert response.status_code == 302 and response["Location"] == f"/annotate/tasks/{following.pk}/"
    task.refresh_from_db()
    assert task.state == RankingTask.State.SKIPPED and task.skip_reason == "The message is about a child."

    ranking_task_submit(
        task=following, annotator=annotator, rankings={"empathy": PERMUTATION, "safety": PERMUTATION}
    )
    with pytest.raises(RankingError, match="already submitted"):
        ranking_task_skip(task=following, annotator=annotator, reason="Too late")


def test_skip_without_a_reason_is_refused_with_an_error_summary(
    client, response_set, mini_criteria, annotators, researcher
):
    annotator = annotators[0]
    task = _campaign("No reason", response_set, mini_criteria, annotator, researcher).tasks.first()
    client.force_login(annotator)
    response = client.post(f"/annotate/tasks/{task.pk}/skip/", {"reason": "  "})
    page = response.content.decode()
    assert response.status_code == 400 and "data-error-summary" in page
    assert '<a href="#id_reason">Reason: This field is required.</a>' in page
    assert '<details class="card ranking-skip" open>' in page
    task.refresh_from_db()
    assert task.state == RankingTask.State.PENDING


def test_incomplete_ranking_shows_an_error_summary_linking_each_criterion(
    client, response_set, mini_criteria, annotators, researcher
):
    annotator = annotators[0]
    task = _campaign("Incomplete", response_set, mini_criteria, annotator, researcher).tasks.first()
    client.force_login(annotator)
    form = {f"rank-empathy-{position}": str(position) for position in range(1, 6)}
    response = client.post(f"/annotate/tasks/{task.pk}/", form)
    page = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in page
    assert '<a href="#rank-safety-1">Safety: Give every response a rank from 1 to 5.</a>' in page
    assert 'id="rank-safety-1"' in page and "#rank-empathy-1" not in page
    assert 'value="3"' in page  # what was entered is kept
    task.refresh_from_db()
    assert task.state == RankingTask.State.PENDING and not task.rankings.exists()
