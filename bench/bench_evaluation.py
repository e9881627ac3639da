"""Evaluation statistics at study scale, through the app's services and selectors on a throwaway database.

1. Clinician study: 6 clinicians x 100 scenarios x 7 criteria (therapeutic_eval), 2 clinicians per item, with
   a linked persona-judge evaluation of the same two models (50 personas) and blinding guesses. Times
   `study_results` (agreement per criterion: percent, Cohen per pair, Fleiss, Krippendorff; judge vs
   clinicians with a 9,999-resample bootstrap; position balance; win rates; Bang's index).
2. Head-to-head: 10 models x 600 test questions x 50 personas (45 pairs, 1.35M comparisons, 7 criteria,
   one recorded random order each). Times `evaluation_results_compute` (majority vote per question counted
   in SQL, win rates with Wilson intervals and exact McNemar per pair and criterion, the win-rate matrix,
   average win rates, the empathy/safety Pareto front) and one pair alone.

Data are synthetic and seeded (latent model qualities, logistic preferences). The database is a throwaway
test database: SQLite unless DATABASE_URL selects PostgreSQL. Building the data is timed separately.
Not a test: figures are printed, never asserted.

    .venv/bin/python bench/bench_evaluation.py [--models 10 --questions 600 --personas 50]
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_evaluation.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

BATCH = 5000
VERDICT = {"A": "first", "B": "second", "tie": "tie"}
SWAP = {"A": "B", "B": "A", "tie": "tie"}


def build_bank(*, n_models: int, n_questions: int, n_personas: int, name: str):
    from annotation.models import CandidateResponse, JudgePersona, Question, QuestionBank, ResponseSet

    bank = QuestionBank.objects.create(name=name, source="table")
    Question.objects.bulk_create(
        (
            Question(
                bank=bank,
                external_id=f"q{i}",
                text=f"Synthetic question {i}: I have been feeling low and cannot sleep.",
                text_sha256=f"{name}-{i}",
                split="test",
                position=i,
            )
            for i in range(n_questions)
        ),
        batch_size=BATCH,
    )
    question_ids = list(bank.questions.order_by("position").values_list("pk", flat=True))
    sets = []
    for m in range(n_models):
        response_set = ResponseSet.objects.create(
            bank=bank, name=f"model {m}", origin="imported", source="bench"
        )
        CandidateResponse.objects.bulk_create(
            (
                CandidateResponse(
                    response_set=response_set,
                    question_id=q,
                    external_id=f"{m}-{q}",
                    index=0,
                    text=f"Model {m} answers question {q}.",
                    text_sha256=f"{m}-{q}",
                    origin="bench",
                )
                for q in question_ids
            ),
            batch_size=BATCH,
        )
        sets.append(response_set)
    JudgePersona.objects.bulk_create(
        JudgePersona(
            text=f"Persona {p}",
            text_sha256=f"{name}-{p}",
            origin="imported",
            source_id=f"{name}-{p}",
            split="test",
        )
        for p in range(n_personas)
    )
    personas = list(JudgePersona.objects.filter(source_id__startswith=f"{name}-").order_by("pk"))
    return question_ids, sets, personas


def fill_comparisons(evaluation, question_ids, personas, criteria, rng) -> int:
    """One verdict per (pair, question, persona) in a random recorded order, from latent qualities."""
    from annotation.models import CandidateResponse
    from evaluation.models import Comparison
    from evaluation.selectors.evaluations import evaluation_pairs

    pairs = evaluation_pairs(evaluation=evaluation)
    quality = {e.pk: rng.normal(0, 1, size=len(criteria)) for pair in pairs for e in pair}
    responses = {}
    for set_id, question_id, pk in CandidateResponse.objects.filter(
        response_set_id__in=[e.response_set_id for pair in pairs for e in pair]
    ).values_list("response_set_id", "question_id", "pk"):
        responses[(set_id, question_id)] = pk
    labels = np.array(["A", "B", "tie"])
    n = 0
    for model_a, model_b in pairs:
        edge = quality[model_a.pk] - quality[model_b.pk]
        p_a = 1 / (1 + np.exp(-edge)) * 0.85
        shape = (len(question_ids), len(personas), len(criteria))
        draw = rng.random(shape)
        codes = np.where(draw < p_a, 0, np.where(draw < 0.85, 1, 2))
        firsts = rng.random(shape[:2]) < 0.5
        batch = []
        for qi, question_id in enumerate(question_ids):
            ra = responses[(model_a.response_set_id, question_id)]
            rb = responses[(model_b.response_set_id, question_id)]
            for pi, persona in enumerate(personas):
                first = "A" if firsts[qi, pi] else "B"
                outcomes = dict(zip(criteria, labels[codes[qi, pi]].tolist(), strict=True))
                shown = outcomes if first == "A" else {c: SWAP[o] for c, o in outcomes.items()}
                batch.append(
                    Comparison(
                        evaluation=evaluation,
                        question_id=question_id,
                        model_a=model_a,
                        model_b=model_b,
                        judge_key=f"persona:{persona.pk}",
                        persona=persona,
                        first_model=first,
                        response_first_id=ra if first == "A" else rb,
                        response_second_id=rb if first == "A" else ra,
                        ok=True,
                        verdicts={c: VERDICT[o] for c, o in shown.items()},
                        outcomes=outcomes,
                    )
                )
                if len(batch) >= BATCH:
                    Comparison.objects.bulk_create(batch)
                    n += len(batch)
                    batch = []
        Comparison.objects.bulk_create(batch)
        n += len(batch)
    return n


def bench_study(rng) -> None:
    from annotation.services.judging import judge_endpoint_with_defaults
    from core.roles import Role
    from criteria.models import CriteriaSet
    from evaluation.models import StudyAssignment, StudyRating
    from evaluation.selectors.studies import study_results
    from evaluation.services.evaluations import evaluation_create
    from evaluation.services.studies import (
        clinician_study_close,
        clinician_study_create,
        clinician_study_unblind,
    )

    criteria_set = CriteriaSet.objects.get(key="therapeutic_eval", is_current=True)
    criteria = criteria_set.criterion_keys
    started = time.perf_counter()
    question_ids, sets, personas = build_bank(n_models=2, n_questions=100, n_personas=50, name="study")
    group = Group.objects.get_or_create(name=Role.CLINICIAN.value)[0]
    clinicians = []
    for c in range(6):
        user = get_user_model().objects.create(username=f"bench-clinician-{c}")
        user.groups.add(group)
        clinicians.append(user)
    researcher = get_user_model().objects.create(username="bench-researcher")
    evaluation = evaluation_create(
        name="judge",
        criteria_set=criteria_set,
        response_sets=sets,
        judge_kind="persona",
        personas=personas,
        created_by=researcher,
        endpoint=judge_endpoint_with_defaults(base_url="http://127.0.0.1:9/v1"),
        launch=False,
    )
    fill_comparisons(evaluation, question_ids, personas, criteria, rng)
    study = clinician_study_create(
        name="bench",
        criteria_set=criteria_set,
        response_set_a=sets[0],
        response_set_b=sets[1],
        label_a="trained",
        label_b="base",
        clinicians=clinicians,
        created_by=researcher,
        n_scenarios=100,
        raters_per_item=2,
        trained_model="A",
        ask_blinding_guess=True,
        judge_evaluation=evaluation,
    )
    assignments = list(StudyAssignment.objects.filter(item__study=study))
    now = timezone.now()
    StudyRating.objects.bulk_create(
        StudyRating(assignment=a, criterion_key=c, choice=str(rng.choice(["A", "A", "B", "tie"])))
        for a in assignments
        for c in criteria
    )
    for a in assignments:
        a.submitted_at = now
        a.blinding_guess = str(rng.choice(["A", "B", "dont_know"]))
    StudyAssignment.objects.bulk_update(assignments, ["submitted_at", "blinding_guess"], batch_size=BATCH)
    clinician_study_close(study=study, actor=researcher)
    clinician_study_unblind(study=study, actor=researcher)
    built = time.perf_counter() - started
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        results = study_results(study=study)
        timings.append(time.perf_counter() - started)
    overall = results["agreement"]["overall"]
    judge = results["judge_agreement"]["criteria"]["overall"]
    print(
        f"clinician study: 6 clinicians x 100 items x {len(criteria)} criteria, "
        f"{len(assignments)} assignments, "
        f"{results['counts']['ratings']} ratings (built in {built:.1f} s)"
    )
    print(
        f"  all statistics (study_results): best {min(timings):.2f} s, median {sorted(timings)[1]:.2f} s; "
        f"overall: alpha {overall['krippendorff_alpha']:.3f}, judge-clinician "
        f"{judge['judge_clinician']['estimate']:.3f} vs clinician-clinician "
        f"{judge['clinician_clinician']['estimate']:.3f}"
    )


def bench_matrix(rng, *, n_models: int, n_questions: int, n_personas: int) -> None:
    from annotation.services.judging import judge_endpoint_with_defaults
    from criteria.models import CriteriaSet
    from evaluation.selectors.evaluations import evaluation_pairs, pair_head_to_heads
    from evaluation.services.evaluations import evaluation_create, evaluation_results_compute

    criteria_set = CriteriaSet.objects.get(key="therapeutic_eval", is_current=True)
    researcher = get_user_model().objects.get(username="bench-researcher")
    started = time.perf_counter()
    question_ids, sets, personas = build_bank(
        n_models=n_models, n_questions=n_questions, n_personas=n_personas, name="matrix"
    )
    evaluation = evaluation_create(
        name="matrix",
        criteria_set=criteria_set,
        response_sets=sets,
        judge_kind="persona",
        personas=personas,
        created_by=researcher,
        endpoint=judge_endpoint_with_defaults(base_url="http://127.0.0.1:9/v1"),
        launch=False,
    )
    n = fill_comparisons(evaluation, question_ids, personas, criteria_set.criterion_keys, rng)
    built = time.perf_counter() - started
    print(
        f"head-to-head: {n_models} models ({n_models * (n_models - 1) // 2} pairs) x {n_questions} "
        f"questions x {n_personas} personas = {n:,} comparisons x {len(criteria_set.criterion_keys)} "
        f"criteria (built in {built:.1f} s)"
    )
    started = time.perf_counter()
    results = evaluation_results_compute(evaluation=evaluation)
    full = time.perf_counter() - started
    pair = evaluation_pairs(evaluation=evaluation)[:1]
    started = time.perf_counter()
    pair_head_to_heads(evaluation=evaluation, pairs=pair)
    single = time.perf_counter() - started
    print(
        f"  full win-rate matrix + averages + Pareto front (evaluation_results_compute): {full:.2f} s; "
        f"one pair: {single:.2f} s; front: {', '.join(results['pareto']['front'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--personas", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"database: {connection.vendor}")
    try:
        bench_study(rng)
        bench_matrix(rng, n_models=args.models, n_questions=args.questions, n_personas=args.personas)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
