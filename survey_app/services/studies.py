"""Writes on the researcher's side: studies, consent and instrument versions, safety-flag reviews.
Every one is audit-logged."""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.services import audit_record
from survey_app.models import ConsentVersion, Instrument, Item, SafetyFlag, Study, StudyStatus

STUDY_FIELDS = (
    "title",
    "slug",
    "description",
    "criteria_set",
    "consent",
    "quota",
    "completion_code",
    "screenout_code",
    "recruits_on_prolific",
    "prolific_completion_url",
    "support_text",
)


def study_create(*, actor: AbstractBaseUser, fields: Mapping[str, Any]) -> Study:
    """A new study in draft: participants cannot reach it until it is opened."""
    with transaction.atomic():
        study = Study.objects.create(
            created_by=actor, **{name: fields[name] for name in STUDY_FIELDS if name in fields}
        )
        audit_record(action="survey.study_create", actor=actor, obj=study, detail={"slug": study.slug})
    return study


def study_update(*, study: Study, actor: AbstractBaseUser, fields: Mapping[str, Any]) -> Study:
    changed = sorted(name for name in STUDY_FIELDS if name in fields and getattr(study, name) != fields[name])
    with transaction.atomic():
        for name in changed:
            setattr(study, name, fields[name])
        study.save()
        audit_record(action="survey.study_update", actor=actor, obj=study, detail={"changed": changed})
    return study


def study_set_status(*, study: Study, actor: AbstractBaseUser, status: str) -> bool:
    """Open or close a study (a closed study may be reopened). Guarded: a no-op returns False."""
    if status not in (StudyStatus.OPEN, StudyStatus.CLOSED):
        raise ValueError(f"Cannot move a study to {status!r}.")
    stamp = {"opened_at": timezone.now()} if status == StudyStatus.OPEN else {"closed_at": timezone.now()}
    with transaction.atomic():
        moved = Study.objects.filter(pk=study.pk).exclude(status=status).update(status=status, **stamp)
        if moved:
            audit_record(
                action=f"survey.study_{'open' if status == StudyStatus.OPEN else 'close'}",
                actor=actor,
                obj=study,
            )
    study.refresh_from_db()
    return bool(moved)


def consent_version_publish(
    *, actor: AbstractBaseUser, title: str, body: str, agreement: str
) -> ConsentVersion:
    with transaction.atomic():
        latest = ConsentVersion.objects.select_for_update().order_by("-version").first()
        consent = ConsentVersion.objects.create(
            version=(latest.version + 1) if latest else 1,
            title=title,
            body=body,
            agreement=agreement,
            created_by=actor,
        )
        audit_record(
            action="survey.consent_publish", actor=actor, obj=consent, detail={"version": consent.version}
        )
    return consent


ITEM_COPY_FIELDS = (
    "key",
    "page",
    "kind",
    "prompt",
    "help_text",
    "choices",
    "required",
    "exclusive_value",
    "expected_value",
    "eligible_values",
    "max_length",
    "position",
)
EDITABLE_ITEM_FIELDS = ("prompt", "help_text", "choices")


def instrument_publish(*, actor: AbstractBaseUser, edits: Mapping[str, Mapping[str, Any]]) -> Instrument:
    """Publish the next questionnaire version: the current one with `edits` (wording and options by item
    key) applied. Participants already under way keep answering the version they started."""
    with transaction.atomic():
        current = Instrument.objects.select_for_update().get(is_current=True)
        unknown = set(edits) - set(current.items.values_list("key", flat=True))
        if unknown:
            raise ValueError(f"No such items: {sorted(unknown)}.")
        Instrument.objects.filter(pk=current.pk).update(is_current=False)
        new = Instrument.objects.create(
            version=current.version + 1, is_current=True, pages=current.pages, created_by=actor
        )
        changed = []
        for item in current.items.order_by("position", "id"):
            values = {name: getattr(item, name) for name in ITEM_COPY_FIELDS}
            for name, value in edits.get(item.key, {}).items():
                if name not in EDITABLE_ITEM_FIELDS:
                    raise ValueError(f"{name!r} cannot be edited; only {', '.join(EDITABLE_ITEM_FIELDS)}.")
                if values[name] != value:
                    values[name] = value
                    changed.append(f"{item.key}.{name}")
            Item.objects.create(instrument=new, **values)
        audit_record(
            action="survey.instrument_publish",
            actor=actor,
            obj=new,
            detail={"version": new.version, "changed": changed},
        )
    return new


def safety_flag_review(*, flag: SafetyFlag, actor: AbstractBaseUser, note: str) -> bool:
    """Mark a flag as followed up. Guarded: a flag already reviewed stays as it was (returns False)."""
    with transaction.atomic():
        reviewed = SafetyFlag.objects.filter(pk=flag.pk, reviewed_at__isnull=True).update(
            reviewed_at=timezone.now(), reviewed_by=actor, review_note=note
        )
        if reviewed:
            audit_record(
                action="survey.safety_flag_review",
                actor=actor,
                obj=flag,
                detail={"participant": flag.participant_id},
            )
    return bool(reviewed)
