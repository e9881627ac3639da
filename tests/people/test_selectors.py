"""The People page counts each person's work through the annotation and evaluation selectors."""

import pytest
from django.utils import timezone

from annotation.models import RankingTask
from annotation.services.ranking import ranking_campaign_create
from evaluation.models import StudyAssignment
from people.selectors import people_list
from tests.evaluation.helpers import make_study

pytestmark = pytest.mark.django_db


def test_people_list_counts_submitted_rankings_and_rated_comparisons(
    response_set, mini_criteria, annotators, researcher
):
    ranking_campaign_create(
        name="Campaign",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators,
        annotators_per_item=2,
        created_by=researcher,
        seed=1,
    )
    busy, idle = annotators[0], annotators[1]
    busy_tasks = RankingTask.objects.filter(annotator=busy).order_by("pk")
    assert busy_tasks.count() >= 2
    RankingTask.objects.filter(pk__in=list(busy_tasks.values_list("pk", flat=True)[:2])).update(
        state=RankingTask.State.SUBMITTED
    )
    RankingTask.objects.filter(annotator=idle).update(state=RankingTask.State.SKIPPED)
    _, clinicians = make_study(researcher=researcher, n_clinicians=2, n_scenarios=4, n_questions=6)
    rated = StudyAssignment.objects.filter(clinician=clinicians[0]).order_by("sequence")[:3]
    StudyAssignment.objects.filter(pk__in=[a.pk for a in rated]).update(submitted_at=timezone.now())

    people = {person.id: person for person in people_list()}
    assert people[busy.pk].rankings_submitted == 2
    assert people[idle.pk].rankings_submitted == 0
    assert people[clinicians[0].pk].comparisons_rated == 3
    assert people[clinicians[1].pk].comparisons_rated == 0
    assert people[researcher.pk].roles == ["researcher"]
