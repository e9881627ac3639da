"""Writes for judge personas: import from text/CSV/JSONL, copy the survey's selected personas, and reduce a
withdrawn participant's copies to tombstones."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, BinaryIO

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from annotation.importers import ImportFormatError, PersonaRecord, parse_personas, text_fingerprint
from annotation.models import Judgement, JudgePersona, Split
from annotation.selectors.snapshots import snapshots_with_judgements_of
from core.errors import ApplicationError
from core.services import audit_record
from survey_app.selectors import personas_for_judging


class PersonaImportError(ApplicationError):
    """The personas cannot be imported as a whole; nothing was written."""


def _store(
    *,
    records: Iterable[PersonaRecord],
    origin: str,
    default_split: str,
    actor: AbstractBaseUser | None,
    detail: Mapping[str, Any],
) -> dict[str, Any]:
    """Create the new personas in one transaction; the same (origin, source_id, text) again is a no-op."""
    records = list(records)
    existing = {
        persona.source_id: persona
        for persona in JudgePersona.objects.filter(
            origin=origin, source_id__in=[r.source_id for r in records]
        )
    }
    new, unchanged, conflicts = [], 0, []
    for record in records:
        known = existing.get(record.source_id)
        if known is None:
            new.append(record)
        elif known.text_sha256 == record.text_sha256:
            unchanged += 1
        else:
            conflicts.append(
                {
                    "record_id": record.source_id,
                    "reason": "source_id already names a persona with different text "
                    "(judgements cite the earlier text); give the new text its own source_id",
                }
            )
    with transaction.atomic():
        created = JudgePersona.objects.bulk_create(
            JudgePersona(
                text=record.text,
                text_sha256=record.text_sha256,
                origin=origin,
                source_id=record.source_id,
                split=record.split or default_split,
            )
            for record in new
        )
        audit_record(
            action="judge_persona.import",
            actor=actor,
            actor_label=None if actor else "system",
            detail={**detail, "origin": origin, "created": len(created), "unchanged": unchanged},
        )
    return {"created": len(created), "unchanged": unchanged, "rejected": conflicts}


def judge_personas_import(
    *,
    data: bytes | BinaryIO,
    created_by: AbstractBaseUser | None,
    file_format: str | None = None,
    default_split: str = Split.TRAIN,
    file_name: str = "",
) -> dict[str, Any]:
    """Import personas (origin "imported") from plain text, CSV or JSONL; returns the report.

    See :func:`annotation.importers.parse_personas` for the formats. Raises :class:`PersonaImportError`
    (nothing written) for a file that is unusable as a whole.
    """
    if default_split not in Split.values:
        raise PersonaImportError(f"Unknown split {default_split!r}.")
    try:
        records, report = parse_personas(data, file_format=file_format or None)  # type: ignore[arg-type]
    except ImportFormatError as exc:
        raise PersonaImportError(str(exc)) from exc
    stored = _store(
        records=records,
        origin=JudgePersona.Origin.IMPORTED,
        default_split=default_split,
        actor=created_by,
        detail={"file_name": file_name},
    )
    summary = report.summary()
    summary.update(
        rows_accepted=len(records),
        created=stored["created"],
        unchanged=stored["unchanged"],
        rejected=summary["rejected"] + stored["rejected"],
    )
    summary["rows_rejected"] = len(summary["rejected"])
    return summary


def judge_personas_from_survey(
    *, study_id: int | None = None, actor: AbstractBaseUser | None = None
) -> dict[str, Any]:
    """Copy the survey's selected personas (origin "survey") for judging; returns counts.

    Reads the survey's selected personas (`survey_app.selectors.personas_for_judging`); each keeps its
    split (train/test). A persona whose text changed since an earlier copy becomes a new judge persona (its
    source id carries the text's fingerprint), so earlier judgements keep citing the text they saw.
    """
    records = []
    skipped = []
    for item in personas_for_judging(study=study_id, split=None):
        text = item.text.strip()
        identifier = item.pk
        split = item.split
        if not text or identifier is None or split not in Split.values:
            skipped.append(str(identifier))
            continue
        fingerprint = text_fingerprint(text)
        records.append(PersonaRecord(_survey_source_id(identifier, fingerprint), text, fingerprint, split))
    stored = _store(
        records=records,
        origin=JudgePersona.Origin.SURVEY,
        default_split=Split.TRAIN,
        actor=actor,
        detail={"study_id": study_id},
    )
    return {**stored, "skipped": skipped}


def _survey_source_id(survey_persona_id: int, fingerprint: str) -> str:
    """The source id of a copy: the survey persona's id, then the start of its text's fingerprint."""
    return f"{survey_persona_id}:{fingerprint[:12]}"


def judge_personas_withdraw(*, survey_persona_ids: Collection[int], withdrawn_at: datetime) -> dict[str, Any]:
    """Reduce every judge persona copied from these (withdrawn) survey personas to a tombstone; returns
    what was done, for the withdrawal's audit event.

    A tombstone keeps its row (judge jobs still name it) but not the participant's profile: the text becomes
    JudgePersona.WITHDRAWN_TEXT, the fingerprint is cleared and the source id loses the text's fingerprint.
    Its judgements are deleted: they are an LLM's answers conditioned on the participant's profile, the
    raw answers can quote it, and the participant was promised deletion. Snapshots frozen earlier from those
    judgements are immutable: their ids are returned ("snapshots") so the audit event and their pages
    name them. Runs inside the withdrawal's transaction.
    """
    if not survey_persona_ids:
        return {}
    from_participant = Q(pk__in=[])
    for survey_persona_id in survey_persona_ids:
        from_participant |= Q(source_id__startswith=f"{survey_persona_id}:")
    with transaction.atomic():
        copies = list(
            JudgePersona.objects.select_for_update()
            .filter(from_participant, origin=JudgePersona.Origin.SURVEY, withdrawn_at__isnull=True)
            .order_by("pk")
        )
        ids = [copy.pk for copy in copies]
        snapshots = snapshots_with_judgements_of(persona_ids=ids)
        judgements_deleted, _ = Judgement.objects.filter(persona_id__in=ids).delete()
        for copy in copies:
            survey_persona_id = copy.source_id.split(":", 1)[0]
            copy.text = JudgePersona.WITHDRAWN_TEXT
            copy.text_sha256 = ""
            copy.source_id = f"{survey_persona_id}:withdrawn-{copy.pk}"
            copy.withdrawn_at = withdrawn_at
        JudgePersona.objects.bulk_update(copies, ["text", "text_sha256", "source_id", "withdrawn_at"])
    return {
        "judge_personas_withdrawn": ids,
        "judgements_deleted": judgements_deleted,
        "snapshots": snapshots,
    }
