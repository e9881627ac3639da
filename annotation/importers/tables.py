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

    Fatal: missing columns. A row repeating a question id with the same text is merged into the first (its
    other columns are counted as disagreeing when they differ; the first row's are kept); with a different
    text it is rejected. Questions with the same normalised text under different ids are merged.
    """
    report = ImportReport(source=source, file_format=file_format or "")
    collector = Collector(report, source)
    first_extra: dict[str, dict] = {}
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
        repeated = collector.knows_source_key(question_key)
        question_id = collector.source_question(
            key=question_key,
            text=text,
            row=row,
            record_id=question_key,
            conflict=f"{id_field} {{key!r}} already has a different {text_field}",
            merged="same text as question {canonical!r}; merged",
            metadata=extra,
        )
        if question_id is None:
            continue
        if repeated:
            collector.count_repeat(
                row,
                f"{id_field} {question_key!r} repeats an earlier row",
                question_key,
                disagree=extra != first_extra[question_key],
                kept="the first row's are kept",
            )
        else:
            first_extra[question_key] = extra
    return collector.finish()


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
    ``"<question_id>:<response_id>"``; a row repeating a pair with the same text is merged into the first
    (the first row's other columns as metadata, every row's under ``annotations``), else rejected.
    ``origin`` names the generator (e.g. ``"mistral-7b-instruct-v0.2@t0.8"``). Rows of one question_id must
    carry the same question text.
    """
    required = ("question_id", "question_text", "response_id", "response_text")
    report = ImportReport(source=source, file_format=file_format or "")
    collector = Collector(report, source, response_id_name="question_id:response_id")
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
            metadata={"response_id": response_key},
            labels=extra,
        )
    return collector.finish()
