"""Counsel Chat (nbertagnolli/counsel-chat): questions keyed by their text and scrubbed therapist answers."""

from __future__ import annotations

from annotation.importers.collector import Collector
from annotation.importers.fields import as_text, check_field, first_problem
from annotation.importers.reading import InputData, read_rows
from annotation.importers.records import (
    DEFAULT_LIMITS,
    ImportLimits,
    ImportReport,
    ImportResult,
    RowIssue,
)
from annotation.importers.scrubbing import scrub_answer
from annotation.importers.text import clean_text, normalize_text, text_fingerprint

_COUNSEL_CHAT_REQUIRED = ("questionID", "questionTitle", "questionText", "answerText")
#: Columns that identify real people or pages: read only to scrub answers, never kept.
COUNSEL_CHAT_DROPPED_COLUMNS = ("therapistInfo", "therapistURL", "questionLink")


def _int_or_none(value: object) -> int | None:
    """Integer counts (upvotes, views); None when the cell is not an integer."""
    text = as_text(value).strip()
    try:
        return int(text)
    except ValueError:
        return None


def parse_counsel_chat(
    data: InputData,
    *,
    limits: ImportLimits = DEFAULT_LIMITS,
    scrub: bool = True,
) -> ImportResult:
    """Parse the Counsel Chat CSV (nbertagnolli/counsel-chat) into questions and therapist answers.

    Question text = questionTitle + blank line + questionText. Questions are keyed by their normalised text,
    *not* by ``questionID``: in the published file some questionIDs are reused for different questions and
    some questions appear under several IDs with their answers repeated. The original IDs, topics and splits
    are kept in metadata (``source_question_ids``, ``topics``, ``splits``); ``external_id`` is
    ``"cc-q-" + text_sha256[:16]``. Each answer becomes a candidate response with origin ``"counsel_chat"``,
    ``external_id`` ``"cc-a-<source row index>"`` and metadata ``upvotes``, ``views``, ``topic``, ``split``,
    ``source_question_id``; repeated answers to the same question are rejected as duplicates (a row repeating
    an answer's row index with the same text and question is merged into it; with another, rejected).

    ``therapistInfo``, ``therapistURL`` and ``questionLink`` are never kept. With ``scrub`` (default) each
    answer also has e-mail addresses and URLs replaced by ``[email]``/``[link]`` and its author's name
    (signatures) by ``[therapist]``. ``report.facts`` records the raw counts by source questionID.
    """
    report = ImportReport(source="counsel_chat", file_format="csv")
    collector = Collector(report, "counsel_chat", response_id_name="answer (row index)")
    texts_by_source_id: dict[str, set[str]] = {}
    rows_by_source_id: dict[str, int] = {}
    merged_pairs: set[tuple[str, str]] = set()
    canonical_source: dict[str, str] = {}  # question external id -> first source questionID
    for row in read_rows(data, "csv", _COUNSEL_CHAT_REQUIRED, report, limits):
        fields = row.fields
        source_id = as_text(fields.get("questionID")).strip()
        title = clean_text(as_text(fields.get("questionTitle")))
        body = clean_text(as_text(fields.get("questionText")))
        answer = as_text(fields.get("answerText"))
        index_text = as_text(fields.get("")).strip()
        answer_id = f"cc-a-{index_text}" if index_text else f"cc-a-row{row.number}"
        if title and body and not normalize_text(body).startswith(normalize_text(title)):
            question_text = f"{title}\n\n{body}"
        else:
            question_text = body or title
        problem = first_problem(
            [
                check_field(source_id, "questionID", limits.max_id_chars),
                check_field(question_text, "question text", limits.max_question_chars),
                check_field(as_text(fields.get("topic")), "topic", limits.max_metadata_chars, required=False),
            ]
        )
        if problem:
            collector.reject(row, problem, answer_id)
            continue
        rows_by_source_id[source_id] = rows_by_source_id.get(source_id, 0) + 1
        fingerprint = text_fingerprint(question_text)
        texts_by_source_id.setdefault(source_id, set()).add(fingerprint)
        topic = as_text(fields.get("topic")).strip()
        split = as_text(fields.get("split")).strip()
        question_id, created = collector.question(
            external_id=f"cc-q-{fingerprint[:16]}",
            text=question_text,
            row=row,
            metadata={"source_question_ids": [], "topics": [], "splits": []},
        )
        metadata = collector.questions[question_id].metadata
        if created:
            canonical_source[question_id] = source_id
        elif (
            source_id not in metadata["source_question_ids"] and (source_id, question_id) not in merged_pairs
        ):
            merged_pairs.add((source_id, question_id))
            report.merged.append(
                RowIssue(
                    row.number,
                    f"questionID {source_id} has the same text as questionID "
                    f"{canonical_source[question_id]}; merged",
                    line=row.line,
                    record_id=question_id,
                )
            )
        for key, value in (("source_question_ids", source_id), ("topics", topic), ("splits", split)):
            if value and value not in metadata[key]:
                metadata[key].append(value)

        answer_problem = check_field(answer, "answerText", limits.max_response_chars)
        if answer_problem:
            collector.reject(row, answer_problem, answer_id)
            continue
        text = answer
        if scrub:
            text = scrub_answer(
                answer, as_text(fields.get("therapistInfo")), as_text(fields.get("therapistURL"))
            )
        upvotes = _int_or_none(fields.get("upvotes"))
        views = _int_or_none(fields.get("views"))
        for name, value, parsed in (
            ("upvotes", fields.get("upvotes"), upvotes),
            ("views", fields.get("views"), views),
        ):
            if parsed is None and as_text(value).strip():
                report.warnings.append(
                    RowIssue(
                        row.number,
                        f"{name} is not an integer; stored as null",
                        line=row.line,
                        record_id=answer_id,
                    )
                )
        collector.response(
            external_id=answer_id,
            question_id=question_id,
            text=text,
            origin="counsel_chat",
            row=row,
            metadata={
                "upvotes": upvotes,
                "views": views,
                "topic": topic or None,
                "split": split or None,
                "source_question_id": source_id,
            },
        )
    for source_id, fingerprints in sorted(texts_by_source_id.items(), key=lambda item: _sort_key(item[0])):
        if len(fingerprints) > 1:
            report.warnings.append(
                RowIssue(
                    0,
                    f"questionID {source_id} is used for {len(fingerprints)} different questions; "
                    "questions are keyed by their text",
                    record_id=source_id,
                )
            )
    report.facts.update(
        {
            "source_question_ids": len(rows_by_source_id),
            "source_question_ids_with_5_or_more_rows": sum(1 for n in rows_by_source_id.values() if n >= 5),
            "dropped_columns": list(COUNSEL_CHAT_DROPPED_COLUMNS),
            "scrubbed": scrub,
        }
    )
    for question in collector.questions.values():
        question.metadata["source_question_ids"].sort(key=_sort_key)
        question.metadata["topics"].sort()
        question.metadata["splits"].sort()
    return collector.finish()


def _sort_key(value: str) -> tuple[int, int | str]:
    """Numeric ids in numeric order, then the others in text order."""
    return (0, int(value)) if value.isdigit() else (1, value)
