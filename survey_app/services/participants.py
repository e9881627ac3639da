"""Writes on the participant's side: entry, consent, eligibility, saving pages, the final submit, resuming
and withdrawing. Every write happens in one transaction under a row lock on the participant."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError
from core.services import audit_record
from survey_app.models import (
    Answer,
    ItemKind,
    Participant,
    ParticipantStatus,
    Persona,
    SafetyFlag,
    Source,
    Study,
    StudyStatus,
    Submission,
)
from survey_app.pseudonyms import keyed_pseudonym, resume_code_hash, resume_code_new
from survey_app.safety import crisis_language
from survey_app.selectors import (
    first_incomplete_page,
    instrument_current,
    page_items,
    study_completes,
    survey_pages,
)
from survey_app.services.derived import weight_sets_mark_stale
from survey_app.signals import WITHDRAW_ACTION, participant_withdrawn

PROLIFIC_PARAMETERS = {"PROLIFIC_PID": "pid", "STUDY_ID": "study", "SESSION_ID": "session"}
PROLIFIC_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SurveyError(ApplicationError):
    """A participant action that cannot go ahead; the message is written for the participant."""


class InvalidLink(SurveyError):
    """The study link's Prolific parameters are incomplete or malformed."""


class StudyUnavailable(SurveyError):
    """The study takes no new participants (not open, or its quota of completes is reached)."""

    status = HTTPStatus.CONFLICT


class AlreadyTakingPart(SurveyError):
    """This Prolific participant has already joined the study."""

    status = HTTPStatus.CONFLICT


class AlreadyWithdrawn(SurveyError):
    """This Prolific participant withdrew from the study; a withdrawal is never undone by a link."""

    status = HTTPStatus.CONFLICT


class WrongState(SurveyError):
    """The participant is past the step this action belongs to."""

    status = HTTPStatus.CONFLICT


def prolific_pseudonyms(*, params: Mapping[str, str]) -> dict[str, str] | None:
    """Keyed pseudonyms of Prolific's URL parameters, or None when the visitor did not come from Prolific.

    The raw values are never stored, logged or shown again: only these HMACs leave this function.
    """
    if not any(name in params for name in PROLIFIC_PARAMETERS):
        return None
    values = {name: params.get(name, "") for name in PROLIFIC_PARAMETERS}
    if not values["PROLIFIC_PID"] or not all(PROLIFIC_VALUE.fullmatch(v) for v in values.values() if v):
        raise InvalidLink(
            "This study link is incomplete or damaged. Please open the study again from Prolific."
        )
    return {
        short: keyed_pseudonym(purpose=f"prolific-{short}", value=values[name]) if values[name] else ""
        for name, short in PROLIFIC_PARAMETERS.items()
    }


def study_accepting_check(*, study: Study) -> None:
    """Raise StudyUnavailable if new participants cannot join (closed, or quota of completes reached)."""
    if study.status != StudyStatus.OPEN:
        raise StudyUnavailable(
            "This study has closed and is no longer taking part. Thank you for your interest."
        )
    if study_completes(study=study) >= study.quota:
        raise StudyUnavailable("This study has all the responses it needs. Thank you for your interest.")


@dataclass(frozen=True)
class Enrolment:
    participant: Participant
    resume_code: str


ALREADY_TAKING_PART = (
    "This Prolific ID has already taken part in this study in another Prolific session. If that was you, "
    "carry on with your resume code, or contact the research team through Prolific."
)


def participant_return_prolific(*, study: Study, prolific: Mapping[str, str]) -> Enrolment | None:
    """The participation of a Prolific participant who opens the study link again, or None for a newcomer.

    Prolific sends the same PROLIFIC_PID, STUDY_ID and SESSION_ID every time a participant opens the study
    from the same submission, so all three keyed pseudonyms must match: the Prolific ID alone (not secret)
    is never enough to reach someone's answers. The participant gets a fresh resume code (the old one
    stops working) because the one they were shown is not stored. Raises AlreadyWithdrawn for a
    participant who withdrew and AlreadyTakingPart when the Prolific ID took part from another session.
    """
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update()
            .select_related("instrument", "consent")
            .filter(study=study, prolific_pid_pseudonym=prolific["pid"])
            .first()
        )
        if participant is None:
            return None
        if (participant.prolific_study_pseudonym, participant.prolific_session_pseudonym) != (
            prolific["study"],
            prolific["session"],
        ) or not prolific["session"]:
            raise AlreadyTakingPart(ALREADY_TAKING_PART)
        if participant.status == ParticipantStatus.WITHDRAWN:
            raise AlreadyWithdrawn(
                "You have withdrawn from this study and your answers were deleted, so you cannot take part "
                "again. Thank you for the time you gave. Please return your submission on Prolific."
            )
        code = _resume_code_assign(participant=participant)
    return Enrolment(participant=participant, resume_code=code)


def _resume_code_assign(*, participant: Participant) -> str:
    """Replace the participant's resume code with a fresh one and return it (inside the caller's
    transaction)."""
    for _ in range(5):
        code = resume_code_new()
        try:
            with transaction.atomic():
                Participant.objects.filter(pk=participant.pk).update(resume_code_hash=resume_code_hash(code))
            participant.resume_code_hash = resume_code_hash(code)
            return code
        except IntegrityError:
            continue
    raise RuntimeError("Could not allocate a unique resume code.")


def participant_decline(*, study: Study, prolific: Mapping[str, str] | None) -> Participant:
    """Record that someone declined consent: the fact only, no answers and no Prolific pseudonyms."""
    return Participant.objects.create(
        study=study,
        instrument=instrument_current(),
        consent=study.consent,
        status=ParticipantStatus.DECLINED,
        source=Source.PROLIFIC if prolific else Source.DIRECT,
    )


def participant_consent(*, study: Study, prolific: Mapping[str, str] | None) -> Enrolment:
    """Enrol a participant who agreed to the study's consent version; they answer the current instrument."""
    study_accepting_check(study=study)
    fields: dict[str, Any] = {"source": Source.DIRECT}
    if prolific:
        fields = {
            "source": Source.PROLIFIC,
            "prolific_pid_pseudonym": prolific["pid"],
            "prolific_study_pseudonym": prolific["study"],
            "prolific_session_pseudonym": prolific["session"],
        }
        if Participant.objects.filter(study=study, prolific_pid_pseudonym=prolific["pid"]).exists():
            raise AlreadyTakingPart(ALREADY_TAKING_PART)
    for _ in range(5):
        code = resume_code_new()
        try:
            with transaction.atomic():
                participant = Participant.objects.create(
                    study=study,
                    instrument=instrument_current(),
                    consent=study.consent,
                    status=ParticipantStatus.CONSENTED,
                    resume_code_hash=resume_code_hash(code),
                    consented_at=timezone.now(),
                    **fields,
                )
            return Enrolment(participant=participant, resume_code=code)
        except IntegrityError as error:
            if (
                prolific
                and Participant.objects.filter(study=study, prolific_pid_pseudonym=prolific["pid"]).exists()
            ):
                raise AlreadyTakingPart(ALREADY_TAKING_PART) from error
    raise RuntimeError("Could not allocate a unique resume code.")


def participant_eligibility(*, participant: Participant, eligible: bool) -> Participant:
    """Move a consented participant into the survey, or screen them out. Eligibility answers are not kept."""
    target = ParticipantStatus.IN_PROGRESS if eligible else ParticipantStatus.SCREENED_OUT
    updated = Participant.objects.filter(pk=participant.pk, status=ParticipantStatus.CONSENTED).update(
        status=target
    )
    participant.refresh_from_db()
    if not updated and participant.status != target:
        raise WrongState("Your eligibility has already been recorded.")
    return participant


@dataclass(frozen=True)
class PageSaved:
    crisis_language: bool


def page_save(
    *, participant: Participant, page_number: int, answers: Mapping[str, Any], advance: bool
) -> PageSaved:
    """Save one page's answers (None deletes an answer), all or nothing.

    `advance` marks the page as done (Continue); Back and Save-and-finish-later keep what was entered
    without moving the participant on. Raises WrongState after submission or withdrawal.
    """
    pages = survey_pages(instrument=participant.instrument)
    if not 1 <= page_number <= len(pages):
        raise ValueError(f"No survey page {page_number}.")
    items = {
        item.key: item
        for item in page_items(instrument=participant.instrument, page_key=pages[page_number - 1]["key"])
    }
    unknown = set(answers) - set(items)
    if unknown:
        raise ValueError(f"Answers to items that are not on this page of this version: {sorted(unknown)}.")
    crisis = False
    with transaction.atomic():
        locked = (
            Participant.objects.select_for_update().only("id", "status", "pages_done").get(pk=participant.pk)
        )
        if locked.status != ParticipantStatus.IN_PROGRESS:
            raise WrongState("These answers can no longer be changed.")
        now = timezone.now()
        cleared = [items[key].pk for key, value in answers.items() if value is None]
        if cleared:
            Answer.objects.filter(participant=locked, item_id__in=cleared).delete()
        # One INSERT ... ON CONFLICT (participant, item) DO UPDATE for the whole page.
        Answer.objects.bulk_create(
            [
                Answer(participant=locked, item=items[key], value=value, answered_at=now)
                for key, value in answers.items()
                if value is not None
            ],
            update_conflicts=True,
            unique_fields=["participant", "item"],
            update_fields=["value", "answered_at"],
        )
        for key, value in answers.items():
            if items[key].kind == ItemKind.TEXT and value is not None:
                crisis = _flag_crisis_language(participant=locked, item_key=key, text=value) or crisis
        fields = {}
        if any(item.kind == ItemKind.ATTENTION for item in items.values()):
            fields["attention_failures"] = _attention_failures(participant=locked)
        if advance and page_number > locked.pages_done:
            fields["pages_done"] = page_number
        if fields:
            Participant.objects.filter(pk=locked.pk).update(**fields)
            for name, value in fields.items():
                setattr(participant, name, value)
    return PageSaved(crisis_language=crisis)


def _flag_crisis_language(*, participant: Participant, item_key: str, text: str) -> bool:
    matched = crisis_language(text)
    if matched:
        flag, created = SafetyFlag.objects.get_or_create(
            participant=participant, item_key=item_key, reviewed_at=None, defaults={"matched": matched}
        )
        if not created and flag.matched != matched:
            SafetyFlag.objects.filter(pk=flag.pk).update(matched=matched)
    return bool(matched)


def _attention_failures(*, participant: Participant) -> int:
    """Attention checks answered other than instructed. Recorded, never used to stop anyone mid-survey."""
    return sum(
        1
        for value, expected in Answer.objects.filter(
            participant=participant, item__kind=ItemKind.ATTENTION
        ).values_list("value", "item__expected_value")
        if str(value) != expected
    )


@dataclass(frozen=True)
class SubmitResult:
    participant: Participant
    created: bool


class Incomplete(SurveyError):
    def __init__(self, page_number: int) -> None:
        super().__init__(f"Some questions on page {page_number} still need an answer.")
        self.page_number = page_number


def survey_submit(*, participant: Participant) -> SubmitResult:
    """The final submit, exactly once: double clicks, retries and a second tab all get the same submission.

    The participant row is locked (SELECT ... FOR UPDATE), the status change is guarded in the UPDATE and
    the submission row is unique per participant, so concurrent calls serialise and only one creates it.
    """
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.status == ParticipantStatus.COMPLETED:
            return SubmitResult(participant=locked, created=False)
        if locked.status != ParticipantStatus.IN_PROGRESS:
            raise WrongState("This response can no longer be submitted.")
        missing = first_incomplete_page(participant=locked)
        if missing is not None:
            raise Incomplete(missing)
        now = timezone.now()
        moved = Participant.objects.filter(pk=locked.pk, status=ParticipantStatus.IN_PROGRESS).update(
            status=ParticipantStatus.COMPLETED,
            completed_at=now,
            attention_failures=_attention_failures(participant=locked),
        )
        if moved:
            Submission.objects.create(
                participant=locked,
                submitted_at=now,
                duration_s=(now - (locked.consented_at or locked.started_at)).total_seconds(),
            )
    locked.refresh_from_db()
    return SubmitResult(participant=locked, created=bool(moved))


def participant_resume(*, study: Study, code: str) -> Participant | None:
    """The participant of `study` holding this resume code (None for an unknown code)."""
    return Participant.objects.filter(study=study, resume_code_hash=resume_code_hash(code)).first()


def participant_withdraw(*, study: Study, code: str) -> Participant | None:
    """Withdraw the participant holding `code`: delete their answers, submission and persona, keep the
    withdrawal itself (status, time, status it was withdrawn from) and write it to the audit log.

    Weight sets that average the participant's ratings are marked stale, and `participant_withdrawn` lets
    the apps above remove their copies (judge personas) in the same transaction; the audit detail lists
    everything removed or flagged. No request details are logged: a participant's IP address is personal
    data.
    """
    with transaction.atomic():
        participant = (
            Participant.objects.select_for_update()
            .filter(study=study, resume_code_hash=resume_code_hash(code))
            .first()
        )
        if participant is None or participant.status == ParticipantStatus.WITHDRAWN:
            return participant
        now = timezone.now()
        persona_ids = list(Persona.objects.filter(participant=participant).values_list("pk", flat=True))
        submitted_at = (
            Submission.objects.filter(participant=participant).values_list("submitted_at", flat=True).first()
        )
        stale_weight_sets = weight_sets_mark_stale(
            study=study, persona_ids=persona_ids, submitted_at=submitted_at, at=now
        )
        answers_deleted, _ = Answer.objects.filter(participant=participant).delete()
        Submission.objects.filter(participant=participant).delete()
        Persona.objects.filter(participant=participant).delete()
        previous = participant.status
        Participant.objects.filter(pk=participant.pk).update(
            status=ParticipantStatus.WITHDRAWN,
            withdrawn_at=now,
            withdrawn_from=previous,
            pages_done=0,
            attention_failures=0,
        )
        participant.refresh_from_db()
        detail: dict[str, Any] = {
            "study": study.slug,
            "from_status": previous,
            "answers_deleted": answers_deleted,
            "personas_deleted": persona_ids,
            "weight_sets_stale": stale_weight_sets,
        }
        for _, reported in participant_withdrawn.send(
            sender=Participant,
            study_id=study.pk,
            participant_id=participant.pk,
            persona_ids=persona_ids,
            withdrawn_at=now,
        ):
            detail.update(reported or {})
        audit_record(action=WITHDRAW_ACTION, actor_label="participant", obj=participant, detail=detail)
    return participant
