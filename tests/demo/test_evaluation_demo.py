"""`evaluation_demo` fills the evaluation pages with content once, for the demo clinician too."""

import pytest
from django.core.management import call_command

from evaluation.models import ClinicianStudy, Comparison, Evaluation, StudyAssignment

pytestmark = pytest.mark.django_db


def test_demo_creates_an_evaluation_with_results_and_a_study_for_demo_clinician(researcher):
    call_command("evaluation_demo")
    evaluation = Evaluation.objects.get(name="Demo head-to-head")
    assert (
        evaluation.entrants.count() == 3
        and Comparison.objects.filter(evaluation=evaluation, ok=True).exists()
    )
    assert evaluation.results["pareto"]["front"] and len(evaluation.results["pairs"]) == 3
    study = ClinicianStudy.objects.get(name="Demo clinician study")
    mine = StudyAssignment.objects.filter(item__study=study, clinician__username="demo-clinician")
    assert mine.exists() and not mine.filter(submitted_at__isnull=False).exists()
    assert (
        StudyAssignment.objects.filter(item__study=study, clinician__username="demo-clinician-2")
        .exclude(submitted_at=None)
        .count()
        == StudyAssignment.objects.filter(item__study=study, clinician__username="demo-clinician-2").count()
    )
    call_command("evaluation_demo")
    assert Evaluation.objects.count() == 1 and ClinicianStudy.objects.count() == 1


def test_demo_builds_on_the_annotation_demo_when_it_was_loaded(researcher):
    call_command("annotation_demo")
    call_command("evaluation_demo")
    evaluation = Evaluation.objects.get(name="Demo head-to-head")
    entrants = list(evaluation.entrants.select_related("response_set__bank").order_by("position"))
    assert [e.response_set.bank.name for e in entrants] == ["Demo help-seeking questions"] * 3
    assert [e.label for e in entrants] == [
        "Demo base model (advice)",
        "Demo SFT model (safety-minded)",
        "Demo MODPO model (empathic)",
    ]
    assert evaluation.results["n_questions"] == 20
    study = ClinicianStudy.objects.get(name="Demo clinician study")
    assert study.items.count() == 7 and study.response_set_a == entrants[-1].response_set
