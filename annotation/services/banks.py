"""Writes for question banks and imported candidate responses.

Every import parses the whole file first (annotation.importers), applies the length filters and the seeded
split, and only then writes, in one transaction with bulk inserts: a failed import changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from annotation.importers import (
    ImportFormatError,
    ImportResult,
    parse_counsel_chat,
    parse_epitome,
    parse_question_table,
    parse_response_table,
    split_train_test,
)
from annotation.models import CandidateResponse, Question, QuestionBank, ResponseSet
from core.errors import ApplicationError
from core.services import audit_record

BULK_BATCH = 1000
DEFAULT_TEST_FRACTION = 0.2


class BankImportError(ApplicationError):
    """The file cannot be imported as a whole; nothing was written. The message says why."""


@dataclass(frozen=True)
class BankImport:
    """What a question-bank import produced: the bank, its imported responses (if any) and the report."""

    bank: QuestionBank
    response_set: ResponseSet | None
    report: dict[str, Any]


def _parse(
    *, source: str, data: bytes | BinaryIO, file_format: str | None, response_origin: str
) -> ImportResult:
    fmt = file_format or None
    try:
        if source == QuestionBank.Source.EPITOME:
            return parse_epitome(data, file_format=fmt)
        if source == QuestionBank.Source.COUNSEL_CHAT:
            return parse_counsel_chat(data)
        if source == QuestionBank.Source.TABLE:
            return parse_question_table(data, file_format=fmt)
        if source == QuestionBank.Source.RESPONSE_TABLE:
            return parse_response_table(data, origin=response_origin, file_format=fmt)
    except ImportFormatError as exc:
        raise BankImportError(str(exc)) from exc
    raise BankImportError(f"Unknown source format {source!r}.")


def _issue(record_id: str, reason: str) -> dict[str, Any]:
    return {"row": None, "line": None, "record_id": record_id, "reason": reason}


def _length_filter(
    result: ImportResult, *, min_chars: int, max_chars: int
) -> tuple[list[Any], list[dict[str, Any]]]:
    kept, filtered = [], []
    for question in result.questions:
        size = len(question.text)
        if size < min_chars:
            filtered.append(
                _issue(question.external_id, f"question has {size} characters (minimum {min_chars})")
            )
        elif size > max_chars:
            filtered.append(
                _issue(question.external_id, f"question has {size} characters (maximum {max_chars})")
            )
        else:
            kept.append(question)
    return kept, filtered


def _grouped_responses(
    result: ImportResult, kept_ids: set[str], max_per_question: int | None
) -> tuple[dict[str, list[Any]], int]:
    """Responses per kept question in file order, capped at `max_per_question`; returns (groups, dropped)."""
    groups: dict[str, list[Any]] = defaultdict(list)
    dropped = 0
    for response in result.responses:
        if response.question_external_id not in kept_ids:
            continue
        group = groups[response.question_external_id]
        if max_per_question is not None and len(group) >= max_per_question:
            dropped += 1
            continue
        group.append(response)
    return groups, dropped


def _report(result: ImportResult, **extra: Any) -> dict[str, Any]:
    summary = result.report.summary()
    summary.update(extra)
    summary["rows_rejected"] = len(summary["rejected"]) + len(summary.get("filtered", []))
    return summary


def question_bank_import(
    *,
    name: str,
    data: bytes | BinaryIO,
    source: str,
    created_by: AbstractBaseUser | None,
    file_name: str = "",
    file_format: str | None = None,
    split_seed: str = "study",
    test_count: int | None = None,
    test_fraction: float | None = None,
    min_chars: int = 1,
    max_chars: int = 20_000,
    import_responses: bool = True,
    response_origin: str = "",
    max_responses_per_question: int | None = None,
    description: str = "",
) -> BankImport:
    """Import a question bank (and, if the file carries them, its candidate responses as a response set).

    One question per unique question (EPITOME sp_id; Counsel Chat question text; table question_id), deduped
    by normalised text, kept when its length is within [min_chars, max_chars], then split train/test with
    :func:`annotation.importers.split_train_test` (give `test_count`, e.g. 600 as in the study, or
    `test_fraction`; default 0.2). Raises :class:`BankImportError` (nothing written) when the file as a whole
    is unusable, the name is taken, or no question passes the filters.
    """
    name = name.strip()
    if not name:
        raise BankImportError("Give the question bank a name.")
    if min_chars < 0 or max_chars < max(1, min_chars):
        raise BankImportError("The length filter needs 0 <= minimum <= maximum (and maximum >= 1).")
    if QuestionBank.objects.filter(name=name).exists():
        raise BankImportError(f"A question bank named {name!r} already exists.")
    result = _parse(
        source=source, data=data, file_format=file_format, response_origin=response_origin or source
    )
    kept, filtered = _length_filter(result, min_chars=min_chars, max_chars=max_chars)
    if not kept:
        raise BankImportError(
            f"No question passes the length filter ({min_chars}-{max_chars} characters); nothing imported."
        )
    if test_count is None and test_fraction is None:
        test_fraction = DEFAULT_TEST_FRACTION
    try:
        split = split_train_test(
            [q.external_id for q in kept], seed=split_seed, test_count=test_count, test_fraction=test_fraction
        )
    except ValueError as exc:
        raise BankImportError(f"Cannot split {len(kept)} questions: {exc}.") from exc
    test_ids = set(split.test)
    groups, dropped = _grouped_responses(result, {q.external_id for q in kept}, max_responses_per_question)
    with_responses = import_responses and any(groups.values())
    report = _report(
        result,
        filtered=filtered,
        rows_accepted=len(kept),
        split={"seed": split_seed, "train": len(split.train), "test": len(split.test)},
        responses_over_limit=dropped,
    )
    settings = {
        "file_name": file_name,
        "split_seed": split_seed,
        "test_count": test_count,
        "test_fraction": test_fraction,
        "min_chars": min_chars,
        "max_chars": max_chars,
        "max_responses_per_question": max_responses_per_question,
    }
    try:
        with transaction.atomic():
            bank = QuestionBank.objects.create(
                name=name,
                source=source,
                description=description,
                import_settings=settings,
                import_report=report,
                created_by=created_by,
            )
            questions = Question.objects.bulk_create(
                (
                    Question(
                        bank=bank,
                        external_id=record.external_id,
                        text=record.text,
                        text_sha256=record.text_sha256,
                        split="test" if record.external_id in test_ids else "train",
                        position=position,
                        metadata=record.metadata,
                    )
                    for position, record in enumerate(kept)
                ),
                batch_size=BULK_BATCH,
            )
            response_set = None
            if with_responses:
                response_set = ResponseSet.objects.create(
                    bank=bank,
                    name=f"{bank.name}: imported responses",
                    origin=ResponseSet.Origin.IMPORTED,
                    source=f"{source}:{file_name}" if file_name else source,
                    import_report={"accepted_responses": sum(map(len, groups.values()))},
                    created_by=created_by,
                )
                by_external = {question.external_id: question for question in questions}
                _bulk_responses(response_set, groups, by_external)
            audit_record(
                action="question_bank.import",
                actor=created_by,
                obj=bank,
                detail={
                    "source": source,
                    "file_name": file_name,
                    "questions": len(kept),
                    "rejected": report["rows_rejected"],
                    "responses": sum(map(len, groups.values())) if with_responses else 0,
                },
            )
    except IntegrityError as exc:
        raise BankImportError(f"The import conflicts with existing data ({exc}); nothing imported.") from exc
    return BankImport(bank=bank, response_set=response_set, report=report)


def _bulk_responses(
    response_set: ResponseSet, groups: dict[str, list[Any]], questions: dict[str, Question]
) -> int:
    rows = (
        CandidateResponse(
            response_set=response_set,
            question=questions[question_id],
            external_id=record.external_id,
            index=index,
            text=record.text,
            text_sha256=record.text_sha256,
            origin=record.origin,
            metadata=record.metadata,
        )
        for question_id, records in groups.items()
        for index, record in enumerate(records)
    )
    return len(CandidateResponse.objects.bulk_create(rows, batch_size=BULK_BATCH))


def response_set_import(
    *,
    bank: QuestionBank,
    name: str,
    data: bytes | BinaryIO,
    source: str,
    created_by: AbstractBaseUser | None,
    file_name: str = "",
    file_format: str | None = None,
    response_origin: str = "",
    max_responses_per_question: int | None = None,
) -> tuple[ResponseSet, dict[str, Any]]:
    """Import candidate responses for questions already in `bank` (matched by id, then by text).

    `source` is a bank source format that carries responses (epitome, counsel_chat, response_table).
    Responses to questions the bank does not hold are rejected with that reason. Raises
    :class:`BankImportError` (nothing written) when no response matches or the name is taken.
    """
    name = name.strip()
    if not name:
        raise BankImportError("Give the response set a name.")
    if source == QuestionBank.Source.TABLE:
        raise BankImportError("A question table has no responses; use a response table.")
    if ResponseSet.objects.filter(bank=bank, name=name).exists():
        raise BankImportError(f"{bank.name} already has a response set named {name!r}.")
    result = _parse(
        source=source, data=data, file_format=file_format, response_origin=response_origin or source
    )
    by_external = {q.external_id: q for q in bank.questions.all()}
    by_text = {q.text_sha256: q for q in by_external.values()}
    matched: dict[str, Question] = {}
    unmatched: list[dict[str, Any]] = []
    for record in result.questions:
        question = by_external.get(record.external_id) or by_text.get(record.text_sha256)
        if question is None:
            unmatched.append(
                _issue(record.external_id, "question is not in this bank; its responses skipped")
            )
        else:
            matched[record.external_id] = question
    groups, dropped = _grouped_responses(result, set(matched), max_responses_per_question)
    total = sum(map(len, groups.values()))
    if not total:
        raise BankImportError("No response belongs to a question in this bank; nothing imported.")
    # Two source questions may match the same bank question: their responses become one group, deduped.
    merged: dict[str, list[Any]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for source_id, records in groups.items():
        target = matched[source_id].external_id
        for record in records:
            if (target, record.text_sha256) not in seen:
                seen.add((target, record.text_sha256))
                merged[target].append(record)
    if max_responses_per_question is not None:
        for key, records in merged.items():
            dropped += max(0, len(records) - max_responses_per_question)
            merged[key] = records[:max_responses_per_question]
    total = sum(map(len, merged.values()))
    report = _report(result, filtered=unmatched, rows_accepted=total, responses_over_limit=dropped)
    try:
        with transaction.atomic():
            response_set = ResponseSet.objects.create(
                bank=bank,
                name=name,
                origin=ResponseSet.Origin.IMPORTED,
                source=f"{source}:{file_name}" if file_name else source,
                import_report=report,
                created_by=created_by,
            )
            _bulk_responses(response_set, merged, {q.external_id: q for q in matched.values()})
            audit_record(
                action="response_set.import",
                actor=created_by,
                obj=response_set,
                detail={"bank": bank.pk, "source": source, "file_name": file_name, "responses": total},
            )
    except IntegrityError as exc:
        raise BankImportError(f"The import conflicts with existing data ({exc}); nothing imported.") from exc
    return response_set, report
