"""Plain tables: a researcher's question bank and candidate responses in the study scripts' layout."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from annotation.importers.collector import Collector
from annotation.importers.fields import as_text, check_field, first_problem
from annotation.importers.reading import FileFormat, InputData, read_rows
from annotation.importers.records import (
    DEFAULT_LIMITS,
    ImportLimits,
    ImportReport,
    ImportResult,
    RowIssue,
)


def _extra_metadata(
    fields: Mapping[str, object], used: Iterable[str], limits: ImportLimits
) -> tuple[dict, str | None]:
    """Columns outside ``used`` (kept as metadata) and the reason they are too large together, if any."""
    used_set = set(used)
    extra = {key: value for key, value in fields.items() if key not in used_set and key}
    problem = check_field(as_text(extra), "extra columns", limits.max_metadata_chars, required=False)
    return extra, problem


def parse_question_table(
    data: InputData,
    *,
    source: str = "question_bank",
    file_format: FileFormat | None = None,
    id_field: str = "question_id",
    text_field: str = "question_text",
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImportResult:
    """Parse a question bank (CSV or JSONL with ``id_field`` and ``text_field``; other columns -> metadata).

    Fatal: missing columns, duplicate question ids. Questions with the same normalised text are merged.
    """
    report = ImportReport(source=source, file_format=file_format or "")
    collector = Collector(report, source)
    seen_ids: dict[str, int] = {}
    for row in read_rows(data, file_format, (id_field, text_field), report, limits):
        question_key = as_text(row.fields.get(id_field)).strip()
        text = as_text(row.fields.get(text_field))
        extra, extra_problem = _extra_metadata(row.fields, (id_field, text_field), limits)
        problem = first_problem(
            [
                check_field(question_key, id_field, limits.max_id_chars),
                check_field(text, text_field, limits.max_question_chars),
                extra_problem,
            ]
        )
        if problem:
            collector.reject(row, problem, question_key or None)
            continue
        if question_key in seen_ids:
            collector.duplicate_ids.append(
                f"{question_key!r} (rows {seen_ids[question_key]} and {row.number})"
            )
            continue
        seen_ids[question_key] = row.number
        question_id, created = collector.question(
            external_id=question_key, text=text, row=row, metadata={"source_ids": [question_key], **extra}
        )
        if not created:
            collector.questions[question_id].metadata["source_ids"].append(question_key)
            report.merged.append(
                RowIssue(
                    row.number,
                    f"same text as question {question_id!r}; merged",
                    line=row.line,
                    record_id=question_key,
                )
            )
    return collector.finish("question")


def parse_response_table(
    data: InputData,
    *,
    origin: str,
    source: str = "responses",
    file_format: FileFormat | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImportResult:
    """Parse candidate responses in the study scripts' layout: question_id, question_text, response_id,
    response_text (other columns -> response metadata).

    ``response_id`` is unique per question (1..N in the study), so the response ``external_id`` is
    ``"<question_id>:<response_id>"``; a repeated pair is fatal. ``origin`` names the generator
    (e.g. ``"mistral-7b-instruct-v0.2@t0.8"``). Rows of one question_id must carry the same question text.
    """
    required = ("question_id", "question_text", "response_id", "response_text")
    report = ImportReport(source=source, file_format=file_format or "")
    collector = Collector(report, source)
    for row in read_rows(data, file_format, required, report, limits):
        question_key = as_text(row.fields.get("question_id")).strip()
        response_key = as_text(row.fields.get("response_id")).strip()
        question_text = as_text(row.fields.get("question_text"))
        response_text = as_text(row.fields.get("response_text"))
        extra, extra_problem = _extra_metadata(row.fields, required, limits)
        external_id = f"{question_key}:{response_key}"
        problem = first_problem(
            [
                check_field(question_key, "question_id", limits.max_id_chars),
                check_field(response_key, "response_id", limits.max_id_chars),
                check_field(question_text, "question_text", limits.max_question_chars),
            ]
        )
        if problem:
            collector.reject(row, problem, external_id)
            continue
        question_id = collector.source_question(
            key=question_key,
            text=question_text,
            row=row,
            record_id=external_id,
            conflict="question_id {key!r} already has a different question_text",
            merged="same text as question {canonical!r}; merged",
        )
        if question_id is None:
            continue
        problem = first_problem(
            [check_field(response_text, "response_text", limits.max_response_chars), extra_problem]
        )
        if problem:
            collector.reject(row, problem, external_id)
            continue
        collector.response(
            external_id=external_id,
            question_id=question_id,
            text=response_text,
            origin=origin,
            row=row,
            metadata={"response_id": response_key, **extra},
        )
    return collector.finish("question_id:response_id")
