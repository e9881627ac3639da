"""Aggregation over rankings stored in the database (persona judges and annotators), checked against
hand-computed symmetric weighted voting with the study's points (10, 5, 0, -5, -10)."""

import pytest

from annotation.selectors.agreement import agreement_by_criterion
from annotation.selectors.rankings import item_aggregates, preference_pairs
from annotation.services.ranking import ranking_campaign_create, ranking_task_submit

pytestmark = pytest.mark.django_db


def test_judge_rankings_aggregate_to_the_hand_computed_scores_and_pair(judged, response_set, mini_criteria):
    judge_job, question = judged
    results = {
        r.criterion: r
        for r in item_aggregates(
            response_set=response_set,
            criteria_keys=["empathy", "safety"],
            question_ids=[question.pk],
            judge_jobs=[judge_job],
        )
    }
    empathy = results["empathy"]
    assert empathy.scores == (25.0, 15.0, 5.0, -20.0, -25.0)
    assert (empathy.best_index, empathy.worst_index, empathy.n_valid) == (
        0,
        4,
        3,
    )  # the failure (D) is unused
    assert empathy.kendall_w == pytest.approx(12 * 76 / (9 * (125 - 5)))  # rank sums 4, 6, 8, 13, 14
    assert results["safety"].scores == (0.0,) * 5 and not results["safety"].has_preference

    pairs = preference_pairs(response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job])
    assert len(pairs) == 1  # no safety pair (all tied); other questions have no rankings
    pair = pairs[0]
    responses = list(response_set.responses.filter(question=question).order_by("index"))
    assert (pair.criterion, pair.chosen_response_id, pair.rejected_response_id) == (
        "empathy",
        str(responses[0].pk),
        str(responses[4].pk),
    )
    assert (pair.score_difference, pair.judge_agreement, pair.n_judges) == (50.0, 1.0, 3)
    assert len(pair.judge_ids) == 3 and all(rater.startswith("persona:") for rater in pair.judge_ids)


def test_human_and_judge_rankings_combine(judged, response_set, mini_criteria, researcher, annotators):
    judge_job, question = judged
    campaign = ranking_campaign_create(
        name="humans",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators[:1],
        annotators_per_item=1,
        created_by=researcher,
        seed=3,
    )
    task = campaign.tasks.get(question=question)
    canonical = list(
        response_set.responses.filter(question=question).order_by("index").values_list("pk", flat=True)
    )
    wanted = {"empathy": [5, 4, 3, 2, 1], "safety": [1, 2, 3, 4, 5]}  # in canonical order
    shown = [int(pk) for pk in task.response_order]
    display = {key: [ranks[canonical.index(pk)] for pk in shown] for key, ranks in wanted.items()}
    ranking_task_submit(task=task, annotator=annotators[0], rankings=display)

    results = {
        r.criterion: r
        for r in item_aggregates(
            response_set=response_set,
            criteria_keys=["empathy"],
            question_ids=[question.pk],
            judge_jobs=[judge_job],
            campaigns=[campaign],
        )
    }
    empathy = results["empathy"]
    # Judges [25, 15, 5, -20, -25] + annotator [-10, -5, 0, 5, 10] = [15, 10, 5, -15, -15]. Responses 3 and 4
    # tie for last; 4 has a first-place vote (the annotator's), so 3 is the consensus worst.
    assert empathy.scores == (15.0, 10.0, 5.0, -15.0, -15.0)
    assert (empathy.best_index, empathy.worst_index, empathy.n_valid) == (0, 3, 4)
    pairs = [
        p
        for p in preference_pairs(
            response_set=response_set,
            criteria_set=mini_criteria,
            judge_jobs=[judge_job],
            campaigns=[campaign],
        )
        if p.question_id == str(question.pk) and p.criterion == "empathy"
    ]
    assert [(p.chosen_index, p.rejected_index, p.score_difference, p.judge_agreement) for p in pairs] == [
        (0, 3, 30.0, 0.75)
    ]
    assert any(rater.startswith("annotator:") for rater in pairs[0].judge_ids)


def test_agreement_per_criterion(judged, response_set, mini_criteria):
    judge_job, _ = judged
    rows = {
        row.criterion: row
        for row in agreement_by_criterion(
            response_set=response_set, criteria_keys=["empathy", "safety"], judge_jobs=[judge_job]
        )
    }
    empathy, safety = rows["empathy"], rows["safety"]
    assert (empathy.items, empathy.items_ranked, empathy.items_multi, empathy.rankings) == (4, 1, 1, 3)
    assert empathy.mean_kendall_w == pytest.approx(0.8444, abs=1e-4)
    assert 0.5 < empathy.krippendorff_alpha <= 1.0  # three raters largely agree
    assert safety.krippendorff_alpha < 0  # two raters in exactly opposite order
    assert safety.mean_kendall_w == pytest.approx(0.0)
    assert empathy.coverage_percent == 25
