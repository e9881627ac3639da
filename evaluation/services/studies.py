"""Writes for blinded clinician studies: create and assign, rate, guess, close, unblind.

Blinding rules enforced here: the clinician-facing title and instructions may not name either model (their
labels, response-set names or the runs that generated them); which model is "Response A" is drawn per
clinician and item (:mod:`evaluation.assignment`) and stored server-side only. Ratings are
position-level, exactly as the clinician chose them; statistics recode them to model level after unblinding.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from annotation.models import ResponseSet, SplitScope
from core.errors import ApplicationError, ConflictError, PermissionDeniedError
from core.roles import Role, user_has_role
from core.services import audit_record
from criteria.models import CriteriaSet
from evaluation.assignment import plan_study
from evaluation.models import (
    ClinicianStudy,
    Evaluation,
    Side,
    StudyAssignment,
    StudyItem,
    StudyRating,
)
from evaluation.selectors.evaluations import responses_by_set_and_question, shared_questions

MAX_SCENARIOS = 5000
MAX_COMMENT_CHARS = 5000
CHOICES = frozenset(StudyRating.Choice.values)
GUESSES = frozenset(StudyAssignment.Guess.values)
_SEPARATORS = re.compile(r"[\W_]+")


class StudyError(ApplicationError):
    """A study that cannot be created or changed as asked; ``field_errors`` name the inputs at fault."""


class StudyNotClosed(StudyError):
    """Unblinding waits until the study is closed."""

    status = HTTPStatus.CONFLICT


class NotYourItem(PermissionDeniedError):
    """The item is assigned to another clinician."""


class StudyClosed(ConflictError):
    """The study is closed: ratings and guesses can no longer change."""


class RatingInvalid(ApplicationError):
    """A rating outside the study's criteria or choices; ``field_errors`` name the inputs at fault."""


def model_identifiers(*, response_sets: Sequence[ResponseSet], labels: Sequence[str]) -> list[str]:
    """Strings that would unblind a clinician: labels, set names and sources, generating runs' names.

    Identifiers with fewer than 3 letters or digits are dropped: they would refuse ordinary words.
    """
    identifiers = list(labels)
    for response_set in response_sets:
        identifiers += [response_set.name, response_set.source]
        if response_set.training_run is not None:
            identifiers += [
                response_set.training_run.name,
                str(response_set.training_run.config.get("policy", "")),
            ]
    kept = {item.strip() for item in identifiers if len("".join(_tokens(item))) >= 3}
    return sorted(kept, key=len)


def _tokens(text: str) -> list[str]:
    """Compatibility-normalised, casefolded words: any run of non-alphanumerics is one separator."""
    return [token for token in _SEPARATORS.split(unicodedata.normalize("NFKC", text).casefold()) if token]


def _leaks(text: str, identifiers: Sequence[str]) -> list[str]:
    """Identifiers named in ``text``, whatever their case, width or separators ("Alpha-Model", "alpha.model").

    Whole tokens only: the label "GPT" is found in "GPT model" but not in "GPTs", so short labels do not
    refuse ordinary words that merely begin with them.
    """
    padded = f" {' '.join(_tokens(text))} "
    return [name for name in identifiers if f" {' '.join(_tokens(name))} " in padded]


def clinician_study_create(
    *,
    name: str,
    criteria_set: CriteriaSet,
    response_set_a: ResponseSet,
    response_set_b: ResponseSet,
    label_a: str,
    label_b: str,
    clinicians: Sequence[AbstractBaseUser],
    created_by: AbstractBaseUser,
    n_scenarios: int = 100,
    raters_per_item: int = 2,
    calibration_items: int = 0,
    split: str = SplitScope.TEST,
    response_index: int = 0,
    trained_model: str = "",
    ask_blinding_guess: bool = False,
    clinician_title: str = "Response comparison study",
    instructions: str = "",
    judge_evaluation: Evaluation | None = None,
    seed: int = 0,
) -> ClinicianStudy:
    """Validate, draw the scenarios, and assign them (see :mod:`evaluation.assignment`).

    Raises :class:`StudyError` with every problem found; nothing is written then.
    """
    errors: dict[str, str] = {}
    name, label_a, label_b = name.strip(), label_a.strip(), label_b.strip()
    clinician_title, instructions = clinician_title.strip(), instructions.strip()
    clinicians = list({user.pk: user for user in clinicians}.values())
    if not name:
        errors["name"] = "Give the study a name."
    if not label_a or not label_b or label_a == label_b:
        errors["label_a"] = "Give the two models distinct labels (researchers only see them)."
    if response_set_a.pk == response_set_b.pk:
        errors["response_set_b"] = "Choose two different response sets."
    elif response_set_a.bank_id != response_set_b.bank_id:
        errors["response_set_b"] = "Both response sets must answer the same question bank."
    if len(clinicians) < 2:
        errors["clinicians"] = "Choose at least two clinicians."
    elif any(not user_has_role(user, Role.CLINICIAN) for user in clinicians):
        errors["clinicians"] = "Every rater must be in the clinician group."
    if not 2 <= raters_per_item <= max(len(clinicians), 2):
        errors["raters_per_item"] = "Each item needs at least 2 raters and at most the number of clinicians."
    if not 1 <= n_scenarios <= MAX_SCENARIOS or not 0 <= calibration_items <= MAX_SCENARIOS:
        errors["n_scenarios"] = f"Choose between 1 and {MAX_SCENARIOS} scenarios."
    if trained_model not in ("", *Side.values):
        errors["trained_model"] = "The trained model is A, B or unspecified."
    if ask_blinding_guess and not trained_model:
        errors["trained_model"] = "Say which model is the trained one to ask clinicians to guess it."
    if not clinician_title:
        errors["clinician_title"] = "Give the study a title for clinicians."
    identifiers = model_identifiers(response_sets=[response_set_a, response_set_b], labels=[label_a, label_b])
    for field, text in (("clinician_title", clinician_title), ("instructions", instructions)):
        leaked = _leaks(text, identifiers)
        if leaked:
            errors[field] = f"Shown to clinicians, so it must not name a model ({', '.join(leaked)})."
    if judge_evaluation is not None:
        compared = set(judge_evaluation.entrants.values_list("response_set_id", flat=True))
        if not {response_set_a.pk, response_set_b.pk} <= compared:
            errors["judge_evaluation"] = "That evaluation does not compare these two response sets."
    question_ids: list[int] = []
    if "response_set_b" not in errors:
        question_ids = list(
            shared_questions(
                response_sets=[response_set_a, response_set_b], split=split, response_index=response_index
            ).values_list("pk", flat=True)
        )
        if len(question_ids) < n_scenarios + calibration_items:
            errors["n_scenarios"] = (
                f"Only {len(question_ids)} questions have responses from both sets; "
                f"asked for {n_scenarios + calibration_items}."
            )
    if errors:
        raise StudyError(field_errors=errors)

    chosen = random.Random(f"{seed}:scenarios").sample(question_ids, n_scenarios + calibration_items)
    calibration, main = chosen[:calibration_items], chosen[calibration_items:]
    responses = responses_by_set_and_question(
        response_set_ids=[response_set_a.pk, response_set_b.pk],
        question_ids=chosen,
        response_index=response_index,
    )
    with transaction.atomic():
        study = ClinicianStudy.objects.create(
            name=name,
            clinician_title=clinician_title,
            instructions=instructions,
            criteria_set=criteria_set,
            response_set_a=response_set_a,
            response_set_b=response_set_b,
            label_a=label_a,
            label_b=label_b,
            trained_model=trained_model,
            response_index=response_index,
            split=split,
            raters_per_item=raters_per_item,
            ask_blinding_guess=ask_blinding_guess,
            judge_evaluation=judge_evaluation,
            seed=seed,
            created_by=created_by,
        )
        study.clinicians.set(clinicians)
        items = StudyItem.objects.bulk_create(
            StudyItem(
                study=study,
                question_id=question_id,
                response_a_id=responses[(response_set_a.pk, question_id)][0],
                response_b_id=responses[(response_set_b.pk, question_id)][0],
                is_calibration=question_id in calibration,
                position=position,
            )
            for position, question_id in enumerate(chosen, start=1)
        )
        by_question = {item.question_id: item for item in items}
        plan = plan_study(
            items=main,
            calibration_items=calibration,
            clinicians=[user.pk for user in clinicians],
            raters_per_item=raters_per_item,
            seed=seed,
        )
        StudyAssignment.objects.bulk_create(
            StudyAssignment(
                item=by_question[planned.item],
                clinician_id=planned.clinician,
                model_in_position_a=planned.model_in_position_a,
                sequence=planned.sequence,
            )
            for planned in plan
        )
        audit_record(
            action="clinician_study.create",
            actor=created_by,
            obj=study,
            detail={
                "response_sets": [response_set_a.pk, response_set_b.pk],
                "scenarios": n_scenarios,
                "calibration_items": calibration_items,
                "clinicians": [user.pk for user in clinicians],
                "raters_per_item": raters_per_item,
            },
        )
    return study


def study_rating_submit(
    *,
    assignment: StudyAssignment,
    clinician: AbstractBaseUser,
    ratings: Mapping[str, Any],
    complete: bool,
    comment: str | None = None,
    flagged_unsafe: bool | None = None,
    flag_note: str | None = None,
) -> StudyAssignment:
    """Save a clinician's choices (all or some criteria) and notes; `complete` needs every criterion.

    Order of checks: the item must be the clinician's (:class:`NotYourItem`), the study open
    (:class:`StudyClosed`), the input valid (:class:`RatingInvalid`). The assignment row is locked, so
    simultaneous submissions are applied one after the other and leave one rating per criterion.
    """
    with transaction.atomic():
        locked = StudyAssignment.objects.select_for_update().get(pk=assignment.pk)
        if locked.clinician_id != clinician.pk:
            raise NotYourItem("This item is not assigned to you.")
        study = ClinicianStudy.objects.get(pk=locked.item.study_id)
        if not study.is_open:
            raise StudyClosed("This study is closed; ratings can no longer change.")
        keys = list(study.criteria_set.criteria.values_list("key", flat=True))
        errors = {str(key)[:64]: "Not a criterion of this study." for key in ratings if key not in keys} | {
            key: "Choose A, B or tie."
            for key, value in ratings.items()
            if key in keys and (not isinstance(value, str) or value not in CHOICES)
        }
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            errors["comment"] = f"At most {MAX_COMMENT_CHARS} characters."
        if flag_note is not None and len(flag_note) > MAX_COMMENT_CHARS:
            errors["flag_note"] = f"At most {MAX_COMMENT_CHARS} characters."
        existing = set(locked.ratings.values_list("criterion_key", flat=True))
        missing = [key for key in keys if key not in existing and key not in ratings]
        if not errors and complete and missing:
            raise RatingInvalid(
                f"Choose A, B or tie for every criterion (missing: {', '.join(missing)}).",
                {key: "Choose A, B or tie." for key in missing},
            )
        if errors:
            raise RatingInvalid(field_errors=errors)
        now = timezone.now()
        if ratings:
            StudyRating.objects.bulk_create(
                [
                    StudyRating(
                        assignment=locked, criterion_key=key, choice=value, created_at=now, updated_at=now
                    )
                    for key, value in ratings.items()
                ],
                update_conflicts=True,
                unique_fields=["assignment", "criterion_key"],
                update_fields=["choice", "updated_at"],
            )
        if comment is not None:
            locked.comment = comment.strip()
        if flagged_unsafe is not None:
            locked.flagged_unsafe = flagged_unsafe
        if flag_note is not None:
            locked.flag_note = flag_note.strip()
        if complete and locked.submitted_at is None:
            locked.submitted_at = now
            locked.skipped_at, locked.skip_reason = None, ""
        locked.updated_at = now
        locked.save(
            update_fields=[
                "comment",
                "flagged_unsafe",
                "flag_note",
                "submitted_at",
                "skipped_at",
                "skip_reason",
                "updated_at",
            ]
        )
    return locked


def study_assignment_skip(*, assignment: StudyAssignment, clinician: AbstractBaseUser, reason: str) -> bool:
    """Skip an item with a reason (required). Skipping it again changes nothing (False); a submitted item
    cannot be skipped. A skipped item can still be submitted later, which clears the skip.

    Checks run in the order of :func:`study_rating_submit`: own item, open study, then the input.
    """
    reason = reason.strip()
    with transaction.atomic():
        locked = (
            StudyAssignment.objects.select_for_update().select_related("item__study").get(pk=assignment.pk)
        )
        if locked.clinician_id != clinician.pk:
            raise NotYourItem("This item is not assigned to you.")
        if not locked.item.study.is_open:
            raise StudyClosed("This study is closed; answers can no longer change.")
        if locked.is_skipped:
            return False
        if locked.is_submitted:
            raise StudyClosed("You submitted this item; change your answers instead of skipping it.")
        if not reason:
            raise RatingInvalid("Say why you are skipping this item.", {"reason": "A reason is required."})
        if len(reason) > MAX_COMMENT_CHARS:
            raise RatingInvalid(field_errors={"reason": f"At most {MAX_COMMENT_CHARS} characters."})
        locked.skipped_at = locked.updated_at = timezone.now()
        locked.skip_reason = reason
        locked.save(update_fields=["skipped_at", "skip_reason", "updated_at"])
    return True


def study_guesses_submit(
    *, study: ClinicianStudy, clinician: AbstractBaseUser, guesses: Mapping[str, str]
) -> int:
    """The post-study question: per own item (by assignment token), which response ("A", "B" or
    "dont_know") came from the trained model. Allowed once all the clinician's items are submitted or
    skipped."""
    with transaction.atomic():
        study = ClinicianStudy.objects.select_for_update().get(pk=study.pk)
        if not study.is_open:
            raise StudyClosed("This study is closed; answers can no longer change.")
        own = {
            assignment.token: assignment
            for assignment in StudyAssignment.objects.filter(item__study=study, clinician=clinician)
        }
        if not study.ask_blinding_guess or not own:
            raise RatingInvalid(field_errors={"guesses": "This study asks no such question of you."})
        if any(not assignment.is_finished for assignment in own.values()):
            raise RatingInvalid(field_errors={"guesses": "Finish rating every item first."})
        if any(token not in own or guess not in GUESSES for token, guess in guesses.items()):
            raise RatingInvalid(
                field_errors={"guesses": "Answer A, B or don't know for your own items only."}
            )
        for token, guess in guesses.items():
            own[token].blinding_guess = guess
        StudyAssignment.objects.bulk_update([own[token] for token in guesses], ["blinding_guess"])
    return len(guesses)


def clinician_study_close(*, study: ClinicianStudy, actor: AbstractBaseUser) -> bool:
    """Close the study: no rating or answer changes afterwards. False if it was already closed."""
    closed = ClinicianStudy.objects.filter(pk=study.pk, state=ClinicianStudy.State.OPEN).update(
        state=ClinicianStudy.State.CLOSED, closed_at=timezone.now()
    )
    if closed:
        audit_record(action="clinician_study.close", actor=actor, obj=study)
    study.refresh_from_db()
    return bool(closed)


def clinician_study_unblind(*, study: ClinicianStudy, actor: AbstractBaseUser, request=None) -> bool:
    """Reveal the results to researchers (closed studies only), once, audit-logged."""
    if study.is_open:
        raise StudyNotClosed(field_errors={"state": "Close the study before unblinding it."})
    unblinded = ClinicianStudy.objects.filter(pk=study.pk, unblinded_at__isnull=True).update(
        unblinded_at=timezone.now(), unblinded_by=actor
    )
    if unblinded:
        audit_record(action="clinician_study.unblind", actor=actor, obj=study, request=request)
    study.refresh_from_db()
    return bool(unblinded)
