"""Judge personas: plain text blocks, CSV or JSONL; deduplicated by text, optionally split train/test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from annotation.importers.fields import as_text, check_field, first_problem
from annotation.importers.reading import (
    InputData,
    Row,
    csv_rows,
    decode,
    detect_format,
    jsonl_rows,
    read_bytes,
)
from annotation.importers.records import (
    DEFAULT_LIMITS,
    ImportFormatError,
    ImportLimits,
    ImportReport,
    RowIssue,
)
from annotation.importers.text import clean_text, text_fingerprint

PersonaFormat = Literal["text", "csv", "jsonl"]
PERSONA_SPLITS = ("train", "test")
#: In the plain-text format personas are separated by a line holding only this marker.
PERSONA_TEXT_SEPARATOR = "---"


@dataclass(frozen=True)
class PersonaRecord:
    """A patient persona for an LLM judge; ``split`` is ``None`` when the file does not say."""

    source_id: str
    text: str
    text_sha256: str
    split: str | None


def _persona_text_rows(text: str, report: ImportReport) -> Iterator[Row]:
    """One row per non-empty block between ``---`` lines; a block's line is where its text starts."""
    block: list[str] = []
    start = 1
    number = 0
    lines = text.split("\n")
    for line_number, line in enumerate([*lines, PERSONA_TEXT_SEPARATOR], start=1):
        if line.strip() != PERSONA_TEXT_SEPARATOR:
            if not block:
                start = line_number
            block.append(line)
            continue
        body = "\n".join(block).strip()
        block = []
        if not body:
            continue
        number += 1
        report.rows_read += 1
        yield Row(number, start, {"text": body})


def parse_personas(
    data: InputData,
    *,
    file_format: PersonaFormat | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> tuple[list[PersonaRecord], ImportReport]:
    """Parse judge personas: plain text (blocks separated by a ``---`` line), or CSV / JSONL with a ``text``
    column and optional ``source_id`` and ``split`` (train/test).

    ``source_id`` defaults to ``"persona-" + text_sha256[:16]``. Personas with the same normalised text are
    merged (listed in ``report.merged``). Fatal: wrong encoding, a missing ``text`` column, duplicate
    ``source_id``, no usable persona. Rejected rows: empty or oversized text, a split other than train/test.
    ``file_format=None`` reads JSONL when the input starts with ``{`` and plain text otherwise (pass
    ``"csv"`` explicitly for CSV).
    """
    report = ImportReport(source="personas", file_format=file_format or "")
    text = decode(read_bytes(data, limits))
    chosen = file_format or ("jsonl" if detect_format(text) == "jsonl" else "text")
    report.file_format = chosen
    if chosen == "text":
        rows: Iterator[Row] = _persona_text_rows(text, report)
    elif chosen == "csv":
        rows = csv_rows(text, ("text",), report)
    elif chosen == "jsonl":
        rows = jsonl_rows(text, ("text",), report)
    else:
        raise ValueError(f"unknown persona format {file_format!r}")
    records: list[PersonaRecord] = []
    by_fingerprint: dict[str, str] = {}
    seen_ids: dict[str, int] = {}
    duplicate_ids: list[str] = []
    for row in rows:
        body = as_text(row.fields.get("text"))
        fingerprint = text_fingerprint(body)
        source_id = as_text(row.fields.get("source_id")).strip() or f"persona-{fingerprint[:16]}"
        split = as_text(row.fields.get("split")).strip().lower() or None
        problem = first_problem(
            [
                check_field(body, "text", limits.max_persona_chars),
                check_field(source_id, "source_id", limits.max_id_chars),
                None if split in (None, *PERSONA_SPLITS) else f"split {split!r} is not train or test",
            ]
        )
        if problem:
            report.rejected.append(RowIssue(row.number, problem, line=row.line, record_id=source_id))
            continue
        if source_id in seen_ids:
            duplicate_ids.append(f"{source_id!r} (rows {seen_ids[source_id]} and {row.number})")
            continue
        seen_ids[source_id] = row.number
        if fingerprint in by_fingerprint:
            report.merged.append(
                RowIssue(
                    row.number,
                    f"same text as persona {by_fingerprint[fingerprint]!r}; merged",
                    line=row.line,
                    record_id=source_id,
                )
            )
            continue
        by_fingerprint[fingerprint] = source_id
        records.append(PersonaRecord(source_id, clean_text(body), fingerprint, split))
    if duplicate_ids:
        raise ImportFormatError(f"duplicate source_id values: {'; '.join(duplicate_ids[:10])}")
    if not records:
        first = report.rejected[0] if report.rejected else None
        raise ImportFormatError(
            "no usable persona" + (f"; first rejection: row {first.row}: {first.reason}" if first else "")
        )
    return records, report
