"""Statistics wired through the database agree with the packages (krippendorff, statsmodels, sklearn, scipy)
and with small hand-worked examples."""

from itertools import combinations

import krippendorff
import numpy as np
import pytest
from django.utils import timezone
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from criteria.models import CriteriaSet
from evaluation.models import ClinicianStudy, StudyAssignment, StudyRating
from evaluation.selectors import studies as studies_selectors
from evaluation.selectors.evaluations import pair_head_to_heads
from evaluation.selectors.studies import study_results
from evaluation.services.evaluations import (
    comparison_record,
    evaluation_create,
    evaluation_results_compute,
)
from evaluation.services.studies import (
    clinician_study_close,
    clinician_study_unblind,
    study_guesses_submit,
    study_rating_submit,
)
from evaluation.stats.winrates import Judgement, head_to_head
from judges.endpoint import JudgeEndpoint
from tests.evaluation.helpers import make_bank, make_personas, make_study, position_choice

pytestmark = pytest.mark.django_db

# Model-level choices (A = trained, B = base) of three clinicians on six items, every criterion.
CHOICES = {
    0: ["A", "A", "A", "B", "tie", "A"],
    1: ["A", "A", "B", "B", "A", "A"],
    2: ["A", "tie", "A", "B", "A", "B"],
}
CODES = {"A": 0, "B": 1, "tie": 2}
JUDGE = ["A", "B", "A", "B", "tie", "A"]  # the LLM judge's overall verdict per item


def _evaluation(researcher, sets, outcomes_by_question, personas, *, rule="plurality"):
    evaluation = evaluation_create(
        name="stats",
        criteria_set=CriteriaSet.objects.get(key="therapeutic_eval"),
        response_sets=sets,
        labels=["trained", "base"],
        judge_kind="persona",
        personas=personas,
        created_by=researcher,
        endpoint=JudgeEndpoint(base_url="http://127.0.0.1:9/v1", model="judge"),
        vote_rule=rule,
        launch=False,
    )
    model_a, model_b = evaluation.entrants.order_by("position")
    responses = {rs.pk: dict(rs.responses.values_list("question_id", "pk")) for rs in sets}
    to_verdict = {"A": "first", "B": "second", "tie": "tie"}
    for question_id, outcomes in outcomes_by_question.items():
        for persona, outcome in zip(personas, outcomes, strict=True):
            comparison_record(
                evaluation=evaluation,
                question_id=question_id,
                model_a_id=model_a.pk,
                model_b_id=model_b.pk,
                judge_key=f"persona:{persona.pk}",
                persona_id=persona.pk,
                first_model="A",
                response_first_id=responses[sets[0].pk][question_id],
                response_second_id=responses[sets[1].pk][question_id],
                verdicts={criterion: to_verdict[outcome] for criterion in ("overall", "empathy")},
            )
    return evaluation


@pytest.mark.parametrize(("rule", "expected"), [("plurality", (1, 0, 2)), ("decisive", (2, 0, 1))])
def test_evaluation_majority_vote_and_win_rate_match_hand_counts_and_the_python_path(
    researcher, rule, expected
):
    _, questions, sets = make_bank(models=["trained", "base"], n_questions=3)
    personas = make_personas(3)
    votes = {
        questions[0].pk: ["A", "A", "B"],
        questions[1].pk: ["A", "tie", "tie"],
        questions[2].pk: ["B", "tie", "A"],
    }
    evaluation = _evaluation(researcher, sets, votes, personas, rule=rule)
    results = evaluation_results_compute(evaluation=evaluation)
    overall = results["pairs"][0]["criteria"]["overall"]
    assert (overall["wins"], overall["losses"], overall["ties"]) == expected
    assert overall["p_value"] == pytest.approx(binomtest(expected[0], expected[0] + expected[1]).pvalue)
    # The SQL counting path gives exactly what the stats package computes from the raw judgements.
    judgements = [
        Judgement(q, f"p{index}", criterion, outcome)
        for q, outcomes in votes.items()
        for index, outcome in enumerate(outcomes)
        for criterion in ("overall", "empathy")
    ]
    reference = head_to_head(judgements=judgements, model_a="trained", model_b="base", rule=rule)
    (computed,) = pair_head_to_heads(evaluation=evaluation)
    assert computed.results == reference.results
    assert computed.question_outcomes == reference.question_outcomes


def _rated_study(researcher):
    study, clinicians = make_study(
        researcher=researcher,
        n_clinicians=3,
        raters_per_item=3,
        n_scenarios=6,
        n_questions=6,
        ask_blinding_guess=True,
    )
    items = list(study.items.order_by("position"))
    keys = list(study.criteria_set.criteria.values_list("key", flat=True))
    for index, clinician in enumerate(clinicians):
        for position, item in enumerate(items):
            assignment = StudyAssignment.objects.get(item=item, clinician=clinician)
            choice = position_choice(CHOICES[index][position], assignment.model_in_position_a)
            study_rating_submit(
                assignment=assignment, clinician=clinician, ratings=dict.fromkeys(keys, choice), complete=True
            )
    return study, clinicians, items, keys


def test_clinician_statistics_match_the_packages_and_hand_counts(researcher):
    study, clinicians, items, keys = _rated_study(researcher)
    personas = make_personas(1)
    judge_votes = {item.question_id: [JUDGE[i]] for i, item in enumerate(items)}
    study.judge_evaluation = _evaluation(
        researcher, [study.response_set_a, study.response_set_b], judge_votes, personas
    )
    study.save(update_fields=["judge_evaluation"])
    guesses = {a.token: "A" for a in StudyAssignment.objects.filter(clinician=clinicians[0])}
    study_guesses_submit(study=study, clinician=clinicians[0], guesses=guesses)
    study_guesses_submit(
        study=study,
        clinician=clinicians[1],
        guesses={a.token: "dont_know" for a in StudyAssignment.objects.filter(clinician=clinicians[1])},
    )
    clinician_study_close(study=study, actor=researcher)
    clinician_study_unblind(study=study, actor=researcher)
    results = study_results(study=ClinicianStudy.objects.get(pk=study.pk), n_resamples=999)

    codes = np.array([[CODES[c] for c in CHOICES[r]] for r in range(3)], dtype=float)
    agreement = results["agreement"]["empathy"]
    assert agreement["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal", value_domain=[0, 1, 2])
    )
    table, _ = aggregate_raters(codes.T.astype(int), n_cat=3)
    assert agreement["fleiss"]["kappa"] == pytest.approx(fleiss_kappa(table, method="fleiss"))
    assert agreement["fleiss"]["n_items"] == 6 and agreement["fleiss"]["raters_per_item"] == 3
    kappas = {
        frozenset((clinicians[i].username, clinicians[j].username)): cohen_kappa_score(
            codes[i], codes[j], labels=[0, 1, 2]
        )
        for i, j in combinations(range(3), 2)
    }
    for pair in agreement["cohen"]:
        assert pair["kappa"] == pytest.approx(kappas[frozenset((pair["rater_1"], pair["rater_2"]))])
    assert agreement["mean_cohen_kappa"] == pytest.approx(np.mean(list(kappas.values())))
    # By hand: agreeing clinician pairs per item 3, 1, 1, 3, 1, 1 out of 3 each.
    assert agreement["percent_agreement"]["estimate"] == pytest.approx(10 / 18)

    ratings = results["win_rates"]["empathy"]["ratings"]
    assert (ratings["wins"], ratings["losses"], ratings["ties"]) == (11, 5, 2)
    assert ratings["win_rate"] == pytest.approx(11 / 16)
    items_level = results["win_rates"]["empathy"]["items"]
    assert (items_level["wins"], items_level["losses"], items_level["ties"]) == (5, 1, 0)
    assert items_level["p_value"] == pytest.approx(binomtest(5, 6).pvalue)

    versus = results["judge_agreement"]["criteria"]["overall"]
    matches = sum(CHOICES[r][i] == JUDGE[i] for r in range(3) for i in range(6))
    assert versus["judge_clinician"]["estimate"] == pytest.approx(matches / 18)
    assert versus["clinician_clinician"]["estimate"] == pytest.approx(10 / 18)
    assert versus["difference"] == pytest.approx(matches / 18 - 10 / 18)
    assert versus["difference_ci_low"] <= versus["difference"] <= versus["difference_ci_high"]
    assert "empathy" in results["judge_agreement"]["criteria"]

    for index, clinician in enumerate(clinicians):
        rows = StudyAssignment.objects.filter(item__study=study, clinician=clinician)
        shown = [position_choice(CHOICES[index][items.index(a.item)], a.model_in_position_a) for a in rows]
        n_a, n_b = shown.count("A") * len(keys), shown.count("B") * len(keys)
        balance = results["position_balance"][clinician.username]
        assert (balance["n_a"], balance["n_b"]) == (n_a, n_b)
        assert balance["p_value"] == pytest.approx(binomtest(n_a, n_a + n_b).pvalue)

    first = StudyAssignment.objects.filter(clinician=clinicians[0])
    correct = first.filter(model_in_position_a="A").count()  # guessed "A"; the trained model is study model A
    blinding = results["blinding"]["overall"]
    assert (blinding["n_correct"], blinding["n_incorrect"], blinding["n_dont_know"]) == (
        correct,
        6 - correct,
        6,
    )
    assert blinding["index"] == pytest.approx((correct - (6 - correct)) / 12)


def test_study_results_are_computed_once_per_version_of_the_ratings(researcher, monkeypatch):
    """Pages read the cached statistics; a changed rating (or a reopened state) computes them anew."""
    study, clinicians, items, keys = _rated_study(researcher)
    computed = []
    compute = studies_selectors._study_results_compute
    monkeypatch.setattr(
        studies_selectors, "_study_results_compute", lambda *args: computed.append(1) or compute(*args)
    )
    first = study_results(study=ClinicianStudy.objects.get(pk=study.pk), n_resamples=99)
    again = study_results(study=ClinicianStudy.objects.get(pk=study.pk), n_resamples=99)
    assert again == first and len(computed) == 1
    assignment = StudyAssignment.objects.get(item=items[0], clinician=clinicians[0])
    rating = assignment.ratings.get(criterion_key=keys[0])
    flipped = {"A": "B", "B": "A", "tie": "A"}[rating.choice]
    StudyRating.objects.filter(pk=rating.pk).update(choice=flipped, updated_at=timezone.now())
    changed = study_results(study=ClinicianStudy.objects.get(pk=study.pk), n_resamples=99)
    assert len(computed) == 2 and changed["win_rates"][keys[0]] != first["win_rates"][keys[0]]
