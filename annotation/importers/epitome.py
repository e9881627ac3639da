"""EPITOME (empathy in mental-health support conversations): seeker posts and rated responses.

EPITOME ships one CSV per empathy mechanism (emotional reactions, interpretations, explorations), each with
the same sp_id/rp_id pairs rated 0-2 for that mechanism. The real files repeat some rp_id rows (a second
annotation exported as its own row, sometimes with another level): such rows are merged into one response that
keeps every annotation.

Label metadata of a response, per mechanism (the *label block*): ``level`` (the most common level among its
rows, ties going to the row seen first; None when no row has one), ``rationales`` (the spans of the first row
with that level), ``levels`` and ``rationale_sets`` (every row's, in file order).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import Any

from annotation.importers.collector import Collector, Labels
from annotation.importers.fields import as_text, check_field, first_problem
from annotation.importers.reading import FileFormat, InputData, read_rows
from annotation.importers.records import (
    DEFAULT_LIMITS,
    ImportFormatError,
    ImportLimits,
    ImportReport,
    ImportResult,
)

EPITOME_COLUMNS = ("sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales")
EPITOME_MECHANISMS = ("emotional_reactions", "interpretations", "explorations")
_EPITOME_REQUIRED = ("sp_id", "rp_id", "seeker_post", "response_post")


def epitome_mechanism(file_name: str) -> str | None:
    """The EPITOME mechanism in a file name (``emotional-reactions-reddit.csv`` -> ``emotional_reactions``),
    or None."""
    stem = re.sub(r"[^a-z0-9]+", "_", PurePath(file_name).stem.lower())
    return next((mechanism for mechanism in EPITOME_MECHANISMS if mechanism in stem), None)


def majority(values: Iterable[Any]) -> Any:
    """The most common value other than None, ties going to the one seen first; None when there is none."""
    counts = Counter(value for value in values if value is not None)
    return max(counts, key=counts.__getitem__) if counts else None


def _parse_rationales(value: object) -> list[str]:
    """Rationale spans: a JSON list, or the CSV's ``|``-separated string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split("|") if part.strip()]


def _label_block(annotations: list[Labels]) -> dict[str, Any]:
    """One mechanism's labels of a response (module docstring) from each of its rows' annotations."""
    levels = [annotation["level"] for annotation in annotations]
    level = majority(levels)
    chosen = next((a for a in annotations if a["level"] == level), annotations[0])
    return {
        "level": level,
        "rationales": chosen["rationales"],
        "levels": levels,
        "rationale_sets": [annotation["rationales"] for annotation in annotations],
    }


def _one_mechanism(by_scope: dict[str, list[Labels]]) -> dict[str, Any]:
    ((_, annotations),) = by_scope.items()
    return _label_block(annotations)


def _by_mechanism(by_scope: dict[str, list[Labels]]) -> dict[str, Any]:
    return {"annotations": {mechanism: _label_block(rows) for mechanism, rows in by_scope.items()}}


def _read_file(
    collector: Collector,
    data: InputData,
    *,
    file_format: FileFormat | None,
    mechanism: str | None,
    metadata: dict[str, Any],
    limits: ImportLimits,
) -> None:
    """Feed one EPITOME file's rows to ``collector``: annotations scoped by ``mechanism``, ``metadata`` added
    to each new response's."""
    for row in read_rows(data, file_format, _EPITOME_REQUIRED, collector.report, limits):
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
        collector.response(
            external_id=rp_id,
            question_id=question_id,
            text=response,
            origin="epitome",
            row=row,
            metadata={"sp_id": sp_id, **metadata},
            labels={"level": int(level_text) if level_text else None, "rationales": rationales},
            scope=mechanism or "",
        )


def parse_epitome(
    data: InputData,
    *,
    file_format: FileFormat | None = None,
    mechanism: str | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImportResult:
    """Parse one EPITOME file: CSV or JSONL with sp_id, rp_id, seeker_post, response_post, level, rationales.

    One question per unique ``sp_id`` (``external_id`` = sp_id, text = seeker_post; metadata ``level`` = the
    most common level of its responses); every rp_id becomes a candidate response (origin ``"epitome"``)
    with metadata ``sp_id``, ``mechanism`` when given, and the label block (module docstring). Rows repeating
    an rp_id with the same response text under the same question are merged into it (``report.rows_merged``
    and ``merged_disagreeing``). Fatal: missing sp_id/rp_id/seeker_post/response_post columns, a truncated
    CSV. Rejected rows: empty/oversized fields, a level other than 0-2, an sp_id whose seeker_post differs
    from its first row, an rp_id repeated with another text or question, a response text repeating another
    rp_id's for the same question. An sp_id whose text equals an earlier question's is merged into it.
    """
    report = ImportReport(source="epitome", file_format=file_format or "")
    collector = Collector(report, "epitome", response_id_name="rp_id", fold=_one_mechanism)
    _read_file(
        collector,
        data,
        file_format=file_format,
        mechanism=mechanism,
        metadata={"mechanism": mechanism} if mechanism else {},
        limits=limits,
    )
    result = collector.finish()
    responses = _responses_by_question(result)
    for question in result.questions:
        question.metadata["level"] = majority(r.metadata["level"] for r in responses[question.external_id])
    return result


def parse_epitome_files(
    files: Sequence[tuple[str, InputData]],
    *,
    file_format: FileFormat | None = None,
    limits: ImportLimits = DEFAULT_LIMITS,
) -> ImportResult:
    """Parse several EPITOME files (one per mechanism) given as (file name, data) into one result.

    The mechanism of a file is the EPITOME name its file name contains (:func:`epitome_mechanism`), else the
    file's stem; two files may not name the same one. Questions and responses are shared across files by
    sp_id and rp_id, so an rp_id rated in every file is one response whose metadata is ``sp_id`` and
    ``annotations`` {mechanism: label block}; each question's metadata ``levels`` maps every mechanism to the
    most common level of its responses. Only rows repeating an rp_id within one file count as merged; an
    rp_id's text or question differing between files rejects the later row. Row issues name their file, and
    ``report.facts["files"]`` gives each file's mechanism and counts. A fatal error names its file.
    """
    mechanisms = [epitome_mechanism(name) or PurePath(name).stem for name, _ in files]
    repeated = sorted({m for m in mechanisms if mechanisms.count(m) > 1})
    if repeated:
        raise ImportFormatError(
            "two files stand for the same mechanism: "
            + "; ".join(
                f"{m} ({', '.join(n for (n, _), fm in zip(files, mechanisms, strict=True) if fm == m)})"
                for m in repeated
            )
        )
    report = ImportReport(source="epitome", file_format=file_format or "")
    collector = Collector(report, "epitome", response_id_name="rp_id", fold=_by_mechanism)
    per_file = []
    for (name, data), mechanism in zip(files, mechanisms, strict=True):
        before = (report.rows_read, report.rows_merged, report.merged_disagreeing)
        collector.file = name
        try:
            _read_file(
                collector, data, file_format=file_format, mechanism=mechanism, metadata={}, limits=limits
            )
        except ImportFormatError as exc:
            raise ImportFormatError(f"{name}: {exc}") from None
        per_file.append(
            {
                "name": name,
                "mechanism": mechanism,
                "rows_read": report.rows_read - before[0],
                "rows_merged": report.rows_merged - before[1],
                "merged_disagreeing": report.merged_disagreeing - before[2],
            }
        )
    report.facts["files"] = per_file
    result = collector.finish()
    responses = _responses_by_question(result)
    for question in result.questions:
        blocks = [r.metadata["annotations"] for r in responses[question.external_id]]
        question.metadata["levels"] = {
            mechanism: majority(block[mechanism]["level"] for block in blocks if mechanism in block)
            for mechanism in mechanisms
        }
    return result


def _responses_by_question(result: ImportResult) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {question.external_id: [] for question in result.questions}
    for response in result.responses:
        grouped[response.question_external_id].append(response)
    return grouped
