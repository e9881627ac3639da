"""Reads for clinician studies: progress, a clinician's queue and item page, and the unblinded statistics.

Statistics (the clinician-study modules of :mod:`evaluation.stats` and :mod:`evaluation.stats.winrates`)
use submitted items only. Ratings are stored position-level; agreement, win rates and judge agreement use
them recoded to model level (``unblind_ratings``), position balance uses them as displayed. Calibration
items (rated by every clinician) are reported separately and left out of the main statistics.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Hashable
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet

from evaluation.models import ClinicianStudy, StudyAssignment, StudyRating
from evaluation.selectors.evaluations import question_outcomes_for_sets, response_set_lineage
from evaluation.stats.agreement import agreement_by_criterion
from evaluation.stats.blinding import BlindingGuess, blinding_assessment
from evaluation.stats.judge_agreement import judge_vs_clinicians
from evaluation.stats.position import position_balance
from evaluation.stats.ratings import Rating, rating_matrices, unblind_ratings
from evaluation.stats.winrates import Judgement, head_to_head, wilson_interval, win_rate_from_counts

BOOTSTRAP_RESAMPLES = 9999


def studies_list() -> QuerySet[ClinicianStudy]:
    return (
        ClinicianStudy.objects.select_related("criteria_set", "response_set_a", "response_set_b")
        .annotate(
            n_items=Count("items", filter=Q(items__is_calibration=False), distinct=True),
            n_assignments=Count("items__assignments", distinct=True),
            n_submitted=Count(
                "items__assignments", filter=Q(items__assignments__submitted_at__isnull=False), distinct=True
            ),
        )
        .order_by("-created_at", "-id")
    )


def study_progress(*, study: ClinicianStudy) -> list[dict[str, Any]]:
    """Per clinician: items assigned, submitted, flagged unsafe, guesses given (no ratings: still blinded)."""
    rows = (
        StudyAssignment.objects.filter(item__study=study)
        .values("clinician__username")
        .annotate(
            assigned=Count("pk"),
            submitted=Count("pk", filter=Q(submitted_at__isnull=False)),
            skipped=Count("pk", filter=Q(skipped_at__isnull=False)),
            flagged=Count("pk", filter=Q(flagged_unsafe=True)),
            guessed=Count("pk", filter=~Q(blinding_guess="")),
        )
        .order_by("clinician__username")
    )
    return [{"clinician": row.pop("clinician__username"), **row} for row in rows]


def comparisons_rated_by(*, user_ids: Collection[int]) -> dict[int, int]:
    """How many study comparisons each of these clinicians has submitted (absent: none)."""
    rows = (
        StudyAssignment.objects.filter(clinician_id__in=user_ids, submitted_at__isnull=False)
        .values("clinician_id")
        .annotate(rated=Count("pk"))
        .order_by()
    )
    return {row["clinician_id"]: row["rated"] for row in rows}


def clinician_queue(*, user) -> list[dict[str, Any]]:
    """The clinician's studies with progress and where to resume. Only blinded, clinician-facing fields.

    ``done`` counts submitted items, ``skipped`` skipped ones; ``next_token`` is the first item that is
    neither, and the final question is pending once every item is one or the other.
    """
    assignments = (
        StudyAssignment.objects.filter(clinician=user)
        .select_related("item__study")
        .order_by("item__study__created_at", "item__study_id", "sequence")
    )
    studies: dict[int, dict[str, Any]] = {}
    for assignment in assignments:
        study = assignment.item.study
        entry = studies.setdefault(
            study.pk,
            {
                "token": study.token,
                "title": study.clinician_title,
                "is_open": study.is_open,
                "total": 0,
                "done": 0,
                "skipped": 0,
                "next_token": None,
                "guess_pending": False,
                "ask_blinding_guess": study.ask_blinding_guess,
            },
        )
        entry["total"] += 1
        if assignment.is_submitted:
            entry["done"] += 1
        elif assignment.is_skipped:
            entry["skipped"] += 1
        elif entry["next_token"] is None:
            entry["next_token"] = assignment.token
        if not assignment.blinding_guess:
            entry["guess_pending"] = True
    for entry in studies.values():
        finished = entry["done"] + entry["skipped"]
        entry["to_do"] = entry["total"] - finished
        entry["guess_pending"] = entry["ask_blinding_guess"] and entry["guess_pending"] and not entry["to_do"]
        entry["percent"] = round(100 * finished / entry["total"]) if entry["total"] else 0
    return list(studies.values())


@dataclass(frozen=True)
class ClinicianQueue:
    """The clinician's items in every open study together, and where "Continue" leads."""

    to_do: int
    done: int
    skipped: int
    next_item_token: str | None
    guess_study_token: str | None


def clinician_queue_summary(*, user) -> ClinicianQueue:
    """Counts over the clinician's open studies; Continue goes to the first item still to do, else to a
    study whose final question is unanswered."""
    studies = [study for study in clinician_queue(user=user) if study["is_open"]]
    return ClinicianQueue(
        to_do=sum(study["to_do"] for study in studies),
        done=sum(study["done"] for study in studies),
        skipped=sum(study["skipped"] for study in studies),
        next_item_token=next((study["next_token"] for study in studies if study["next_token"]), None),
        guess_study_token=next((study["token"] for study in studies if study["guess_pending"]), None),
    )


def clinician_study_assignments(*, study: ClinicianStudy, user) -> list[StudyAssignment]:
    return list(
        StudyAssignment.objects.filter(item__study=study, clinician=user)
        .select_related("item__question")
        .order_by("sequence")
    )


def assignment_display(*, assignment: StudyAssignment) -> dict[str, Any]:
    """What the clinician's item page shows: the scenario, both responses in this clinician's order, the
    criteria with their own current choices, and where they are in their queue. Nothing identifies a model."""
    item = assignment.item
    study = item.study
    shown_a, shown_b = (
        (item.response_a, item.response_b)
        if assignment.model_in_position_a == "A"
        else (item.response_b, item.response_a)
    )
    choices = dict(assignment.ratings.values_list("criterion_key", "choice"))
    queue = list(
        StudyAssignment.objects.filter(item__study=study, clinician_id=assignment.clinician_id)
        .order_by("sequence")
        .values_list("token", "submitted_at", "skipped_at")
    )
    tokens = [token for token, _, _ in queue]
    index = tokens.index(assignment.token)
    after = queue[index + 1 :] + queue[:index]
    return {
        "token": assignment.token,
        "study_token": study.token,
        "title": study.clinician_title,
        "instructions": study.instructions,
        "is_open": study.is_open,
        "number": index + 1,
        "total": len(queue),
        "done": sum(1 for _, submitted, _ in queue if submitted),
        "previous_token": tokens[index - 1] if index > 0 else None,
        "next_token": tokens[index + 1] if index + 1 < len(tokens) else None,
        "next_pending_token": next(
            (token for token, submitted, skipped in after if submitted is None and skipped is None), None
        ),
        "scenario": item.question.text,
        "response_a": shown_a.text,
        "response_b": shown_b.text,
        "criteria": [
            {"key": c.key, "name": c.name, "question": c.question, "choice": choices.get(c.key, "")}
            for c in study.criteria_set.criteria.all()
        ],
        "comment": assignment.comment,
        "flagged_unsafe": assignment.flagged_unsafe,
        "flag_note": assignment.flag_note,
        "submitted": assignment.is_submitted,
        "skipped": assignment.is_skipped,
        "skip_reason": assignment.skip_reason,
        "ask_blinding_guess": study.ask_blinding_guess,
    }


# ---- results (researchers, after unblinding) ---------------------------------------------------------


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _number(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_number(item) for item in value]
    return value


def study_rating_records(
    *, study: ClinicianStudy, calibration: bool = False
) -> tuple[list[Rating], dict[tuple[Hashable, Hashable], str]]:
    """Position-level ratings of submitted items (main or calibration) and the display order of each."""
    assignments = StudyAssignment.objects.filter(
        item__study=study, item__is_calibration=calibration, submitted_at__isnull=False
    )
    order = {
        (username, item_id): position
        for username, item_id, position in assignments.values_list(
            "clinician__username", "item_id", "model_in_position_a"
        )
    }
    ratings = [
        Rating(rater=username, item=item_id, criterion=criterion, value=choice)
        for username, item_id, criterion, choice in StudyRating.objects.filter(assignment__in=assignments)
        .order_by("assignment__clinician__username", "assignment__item__position", "id")
        .values_list("assignment__clinician__username", "assignment__item_id", "criterion_key", "choice")
    ]
    return ratings, order


def _agreement_dict(agreement) -> dict[str, Any]:
    data = asdict(agreement)
    data["cohen"] = [
        {
            "rater_1": str(pair.rater_1),
            "rater_2": str(pair.rater_2),
            "n_items": pair.n_items,
            "percent_agreement": pair.percent_agreement,
            "kappa": pair.kappa,
        }
        for pair in agreement.cohen
    ]
    return _number(data)


def _win_rates(study: ClinicianStudy, model_level: list[Rating], criteria: list[str]) -> dict[str, Any]:
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    for rating in model_level:
        tallies[rating.criterion][rating.value] += 1
    by_item = head_to_head(
        judgements=[Judgement(r.item, r.rater, r.criterion, r.value) for r in model_level],
        model_a=study.label_a,
        model_b=study.label_b,
    )
    win_rates = {}
    for criterion in criteria:
        counts = tallies.get(criterion)
        if not counts:
            continue
        ratings = win_rate_from_counts(
            wins=counts["A"],
            losses=counts["B"],
            ties=counts["tie"],
            model_a=study.label_a,
            model_b=study.label_b,
            criterion=criterion,
        )
        n = ratings.n_questions
        tie_low, tie_high = wilson_interval(successes=ratings.ties, n=n)
        other = ratings.swapped()
        win_rates[criterion] = {
            "ratings": asdict(ratings),
            "share_a": ratings.win_share,
            "share_a_ci": [ratings.win_share_ci_low, ratings.win_share_ci_high],
            "share_b": other.win_share,
            "share_b_ci": [other.win_share_ci_low, other.win_share_ci_high],
            "share_tie": ratings.ties / n if n else float("nan"),
            "share_tie_ci": [tie_low, tie_high],
            "items": asdict(by_item.results[criterion]) if criterion in by_item.results else None,
        }
    return win_rates


def _judge_agreement(
    study: ClinicianStudy, model_level: list[Rating], criteria: list[str], n_resamples: int
) -> dict[str, Any] | None:
    if study.judge_evaluation is None:
        return None
    outcomes = question_outcomes_for_sets(
        evaluation=study.judge_evaluation,
        response_set_a=study.response_set_a,
        response_set_b=study.response_set_b,
    )
    if outcomes is None:
        return None
    question_of = dict(study.items.values_list("pk", "question_id"))
    matrices = rating_matrices(ratings=model_level)
    comparison = {}
    for criterion in criteria:
        if criterion not in matrices or criterion not in outcomes:
            continue
        judge = {
            item: outcomes[criterion][question_of[item]]
            for item in matrices[criterion].items
            if question_of[item] in outcomes[criterion]
        }
        result = judge_vs_clinicians(matrix=matrices[criterion], judge=judge, n_resamples=n_resamples)
        comparison[criterion] = asdict(result)
    return {"evaluation_id": study.judge_evaluation_id, "criteria": comparison}


def _blinding(study: ClinicianStudy) -> dict[str, Any] | None:
    if not study.ask_blinding_guess or not study.trained_model:
        return None
    rows = StudyAssignment.objects.filter(item__study=study).exclude(blinding_guess="")
    guesses = []
    for username, item_id, guess, position_a in rows.values_list(
        "clinician__username", "item_id", "blinding_guess", "model_in_position_a"
    ):
        truth = "A" if position_a == study.trained_model else "B"
        guesses.append(BlindingGuess(username, item_id, None if guess == "dont_know" else guess, truth))
    if not guesses:
        return None
    assessment = blinding_assessment(guesses=guesses)
    return {
        "overall": asdict(assessment.overall),
        "by_truth": {k: asdict(v) for k, v in assessment.by_truth.items()},
    }


def _results_version(study: ClinicianStudy, n_resamples: int) -> str:
    """A fingerprint of everything the statistics read: the study's state, its ratings and assignments (their
    counts, newest ids and last changes, blinding guesses) and the judge evaluation's computed results."""
    ratings = StudyRating.objects.filter(assignment__item__study=study).aggregate(
        n=Count("pk"), last=Max("pk"), changed=Max("updated_at")
    )
    assignments = StudyAssignment.objects.filter(item__study=study).aggregate(
        n=Count("pk"),
        changed=Max("updated_at"),
        guesses=Count("pk", filter=~Q(blinding_guess="")),
    )
    judge = study.judge_evaluation.results_computed_at if study.judge_evaluation_id else None
    parts = [study.pk, study.closed_at, study.unblinded_at, study.judge_evaluation_id, judge, n_resamples]
    parts += [sorted(ratings.items()), sorted(assignments.items())]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def study_results(*, study: ClinicianStudy, n_resamples: int = BOOTSTRAP_RESAMPLES) -> dict[str, Any]:
    """Every statistic of the study (see module docstring), JSON-ready (undefined values are null).

    Computed once per version of the data it reads (bootstraps take most of a second) and kept in the cache.
    """
    key = f"study-results:{_results_version(study, n_resamples)}"
    return cache.get_or_set(key, lambda: _study_results_compute(study, n_resamples), None)


def _study_results_compute(study: ClinicianStudy, n_resamples: int) -> dict[str, Any]:
    criteria = list(study.criteria_set.criteria.values_list("key", flat=True))
    ratings, order = study_rating_records(study=study)
    model_level = unblind_ratings(ratings=ratings, model_in_position_a=order)
    calibration, calibration_order = study_rating_records(study=study, calibration=True)
    assignments = StudyAssignment.objects.filter(item__study=study)
    placement = (
        assignments.values("clinician__username")
        .annotate(n=Count("pk"), model_a_shown_as_a=Count("pk", filter=Q(model_in_position_a="A")))
        .order_by("clinician__username")
    )
    flagged = (
        assignments.filter(flagged_unsafe=True)
        .select_related("clinician", "item__question")
        .order_by("item__position", "clinician__username")
    )
    results = {
        "criteria": criteria,
        "models": {"A": study.label_a, "B": study.label_b},
        "counts": {
            "items": study.items.filter(is_calibration=False).count(),
            "calibration_items": study.items.filter(is_calibration=True).count(),
            "clinicians": study.clinicians.count(),
            "submitted_assignments": assignments.filter(submitted_at__isnull=False).count(),
            "assignments": assignments.count(),
            "ratings": len(ratings),
        },
        "agreement": {
            criterion: _agreement_dict(agreement)
            for criterion, agreement in agreement_by_criterion(ratings=model_level).items()
        },
        "calibration_agreement": {
            criterion: _agreement_dict(agreement)
            for criterion, agreement in agreement_by_criterion(
                ratings=unblind_ratings(ratings=calibration, model_in_position_a=calibration_order)
            ).items()
        },
        "judge_agreement": _judge_agreement(study, model_level, criteria, n_resamples),
        "position_balance": {
            str(rater): asdict(balance) for rater, balance in position_balance(ratings=ratings).items()
        },
        "assignment_balance": {row["clinician__username"]: row for row in placement},
        "win_rates": _win_rates(study, model_level, criteria),
        "blinding": _blinding(study),
        "flagged": [
            {
                "item": assignment.item.position,
                "clinician": assignment.clinician.get_username(),
                "question": assignment.item.question.text[:200],
                "note": assignment.flag_note,
                "comment": assignment.comment,
            }
            for assignment in flagged
        ],
        "comments": assignments.exclude(comment="").count(),
    }
    return _number(results)


def study_provenance(*, study: ClinicianStudy) -> dict[str, Any]:
    """The study, its two models with their lineage, and the judge evaluation it is compared with."""
    models = {
        side: {"label": label, **response_set_lineage(response_set=response_set)}
        for side, label, response_set in (
            ("A", study.label_a, study.response_set_a),
            ("B", study.label_b, study.response_set_b),
        )
    }
    runs = {run["id"]: run for model in models.values() for run in model.pop("runs")}
    return {
        "study": {
            "id": study.pk,
            "name": study.name,
            "criteria_set": {"key": study.criteria_set.key, "version": study.criteria_set.version},
            "raters_per_item": study.raters_per_item,
            "closed_at": study.closed_at.isoformat() if study.closed_at else None,
            "unblinded_at": study.unblinded_at.isoformat() if study.unblinded_at else None,
            "judge_evaluation_id": study.judge_evaluation_id,
        },
        "models": models,
        "runs": [runs[pk] for pk in sorted(runs)],
        "snapshots": sorted({h for model in models.values() for h in model["snapshot_hashes"]}),
    }
