"""Writes for judge personas: import from text/CSV/JSONL, or copy the survey's selected personas."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.importers import ImportFormatError, PersonaRecord, parse_personas, text_fingerprint
from annotation.models import JudgePersona, Split
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
        records.append(PersonaRecord(f"{identifier}:{fingerprint[:12]}", text, fingerprint, split))
    stored = _store(
        records=records,
        origin=JudgePersona.Origin.SURVEY,
        default_split=Split.TRAIN,
        actor=actor,
        detail={"study_id": study_id},
    )
    return {**stored, "skipped": skipped}
