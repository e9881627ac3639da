"""EPITOME (empathy in mental-health support conversations): seeker posts and rated responses."""

from __future__ import annotations

from typing import Any

from annotation.importers.collector import Collector
from annotation.importers.fields import as_text, check_field, first_problem
from annotation.importers.reading import FileFormat, InputData, read_rows
from annotation.importers.records import DEFAULT_LIMITS, ImportLimits, ImportReport, ImportResult

EPITOME_COLUMNS = ("sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales")
_EPITOME_REQUIRED = ("sp_id", "rp_id", "seeker_post", "response_post")


def _parse_rationales(value: object) -> list[str]:
    """Rationale spans: a JSON list, or the CSV's ``|``-separated string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split("|") if part.strip()]


def parse_epitome(
    data: InputData,
    *,
    file_format: FileFormat | None = None,
    mechanism: str | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImportResult:
    """Parse an EPITOME file: CSV or JSONL with sp_id, rp_id, seeker_post, response_post, level, rationales.

    One question per unique ``sp_id`` (``external_id`` = sp_id, text = seeker_post); every row's
    response_post becomes a candidate response (``external_id`` = rp_id, origin ``"epitome"``) with metadata
    ``level`` (0/1/2 or None), ``rationales`` (list of spans; the CSV separates them with ``|``),
    ``sp_id`` and ``mechanism`` when given (EPITOME ships one file per empathy mechanism: import them one at
    a time). Fatal: missing sp_id/rp_id/seeker_post/response_post columns, duplicate rp_id. Rejected rows:
    empty/oversized fields, a level other than 0-2, an sp_id whose seeker_post differs from its first row,
    a duplicate response text. An sp_id whose text equals an earlier question's is merged into it.
    """
    report = ImportReport(source="epitome", file_format=file_format or "")
    collector = Collector(report, "epitome")
    for row in read_rows(data, file_format, _EPITOME_REQUIRED, report, limits):
        sp_id = as_text(row.fields.get("sp_id")).strip()
        rp_id = as_text(row.fields.get("rp_id")).strip()
        seeker = as_text(row.fields.get("seeker_post"))
        response = as_text(row.fields.get("response_post"))
        problem = first_problem(
            [
                check_field(sp_id, "sp_id", limits.max_id_chars),
                check_field(rp_id, "rp_id", limits.max_id_chars),
                check_field(seeker, "seeker_post", limits.max_question_chars),
            ]
        )
        if problem:
            collector.reject(row, problem, rp_id or None)
            continue
        question_id = collector.source_question(
            key=sp_id,
            text=seeker,
            row=row,
            record_id=rp_id,
            conflict="sp_id {key!r} already has a different seeker_post (row {first_row})",
            merged="sp_id {key!r} has the same seeker_post as sp_id {canonical!r}; merged",
        )
        if question_id is None:
            continue
        level_text = as_text(row.fields.get("level")).strip()
        rationales = _parse_rationales(row.fields.get("rationales"))
        problem = first_problem(
            [
                check_field(response, "response_post", limits.max_response_chars),
                None
                if level_text in {"", "0", "1", "2"}
                else f"level must be 0, 1 or 2 (got {level_text[:20]!r})",
                check_field(as_text(rationales), "rationales", limits.max_metadata_chars, required=False),
            ]
        )
        if problem:
            collector.reject(row, problem, rp_id)
            continue
        metadata: dict[str, Any] = {
            "sp_id": sp_id,
            "level": int(level_text) if level_text else None,
            "rationales": rationales,
        }
        if mechanism:
            metadata["mechanism"] = mechanism
        collector.response(
            external_id=rp_id,
            question_id=question_id,
            text=response,
            origin="epitome",
            row=row,
            metadata=metadata,
        )
    return collector.finish("rp_id")
