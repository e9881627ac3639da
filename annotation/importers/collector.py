"""Gathers one import's records: questions deduplicated by text, responses per question, duplicate ids."""

from __future__ import annotations

from typing import Any

from annotation.importers.reading import Row
from annotation.importers.records import (
    CandidateResponseRecord,
    ImportFormatError,
    ImportReport,
    ImportResult,
    QuestionRecord,
    RowIssue,
)
from annotation.importers.text import clean_text, text_fingerprint


class Collector:
    """Accumulates a parser's accepted records and its rejected/merged rows on the shared ``report``.

    Duplicate response ids are gathered rather than raised so that :meth:`finish` names them all at once.
    """

    def __init__(self, report: ImportReport, source: str) -> None:
        self.report = report
        self.source = source
        self.questions: dict[str, QuestionRecord] = {}
        self._by_fingerprint: dict[str, str] = {}
        self._first_row: dict[str, int] = {}
        self.responses: list[CandidateResponseRecord] = []
        self._response_fingerprints: dict[tuple[str, str], tuple[str, int]] = {}
        self._response_ids: dict[str, int] = {}
        self.duplicate_ids: list[str] = []
        self._source_keys: dict[str, tuple[str, str]] = {}  # source key -> (canonical id, fingerprint)

    def source_question(
        self,
        *,
        key: str,
        text: str,
        row: Row,
        record_id: str,
        conflict: str,
        merged: str,
    ) -> str | None:
        """Canonical question for a source's own question key, as rows repeat it.

        A key seen before must carry the same text, else the row is rejected (None) with `conflict`. A new
        key whose text is already known is merged into that question and reported with `merged`. Both
        messages are format strings over {key}, {canonical} (the question's id) and {first_row}.
        """
        fingerprint = text_fingerprint(text)
        if key in self._source_keys:
            question_id, known = self._source_keys[key]
            if known != fingerprint:
                reason = conflict.format(
                    key=key, canonical=question_id, first_row=self.question_row(question_id)
                )
                self.reject(row, reason, record_id)
                return None
            return question_id
        question_id, created = self.question(
            external_id=key, text=text, row=row, metadata={"source_ids": [key]}
        )
        self._source_keys[key] = (question_id, fingerprint)
        if not created:
            self.questions[question_id].metadata["source_ids"].append(key)
            reason = merged.format(key=key, canonical=question_id, first_row=self.question_row(question_id))
            self.report.merged.append(RowIssue(row.number, reason, line=row.line, record_id=key))
        return question_id

    def question(
        self, *, external_id: str, text: str, row: Row, metadata: dict[str, Any]
    ) -> tuple[str, bool]:
        """Canonical question id for this text, and whether it was newly created."""
        fingerprint = text_fingerprint(text)
        existing = self._by_fingerprint.get(fingerprint)
        if existing is not None:
            return existing, False
        record = QuestionRecord(
            external_id=external_id,
            text=clean_text(text),
            source=self.source,
            text_sha256=fingerprint,
            metadata=metadata,
        )
        self.questions[external_id] = record
        self._by_fingerprint[fingerprint] = external_id
        self._first_row[external_id] = row.number
        return external_id, True

    def question_row(self, external_id: str) -> int:
        """Row number where this question first appeared (for merge and conflict messages)."""
        return self._first_row[external_id]

    def response(
        self,
        *,
        external_id: str,
        question_id: str,
        text: str,
        origin: str,
        row: Row,
        metadata: dict[str, Any],
    ) -> bool:
        """Add a response; False when refused.

        A repeated id is gathered for :meth:`finish` (fatal there); a text repeating another response to the
        same question rejects the row.
        """
        if external_id in self._response_ids:
            self.duplicate_ids.append(
                f"{external_id!r} (rows {self._response_ids[external_id]} and {row.number})"
            )
            return False
        self._response_ids[external_id] = row.number
        fingerprint = text_fingerprint(text)
        key = (question_id, fingerprint)
        if key in self._response_fingerprints:
            first_id, first_row = self._response_fingerprints[key]
            self.report.rejected.append(
                RowIssue(
                    row.number,
                    f"duplicate response: same text as {first_id} (row {first_row}) for the same question",
                    line=row.line,
                    record_id=external_id,
                )
            )
            return False
        self._response_fingerprints[key] = (external_id, row.number)
        self.responses.append(
            CandidateResponseRecord(
                external_id=external_id,
                question_external_id=question_id,
                text=clean_text(text),
                origin=origin,
                text_sha256=fingerprint,
                metadata=metadata,
            )
        )
        return True

    def reject(self, row: Row, reason: str, record_id: str | None = None) -> None:
        """Reject ``row`` with ``reason``; the import goes on."""
        self.report.rejected.append(RowIssue(row.number, reason, line=row.line, record_id=record_id))

    def finish(self, what: str) -> ImportResult:
        """The result; fatal on duplicate ``what`` ids or when no question was accepted."""
        if self.duplicate_ids:
            shown = "; ".join(self.duplicate_ids[:10])
            more = f" and {len(self.duplicate_ids) - 10} more" if len(self.duplicate_ids) > 10 else ""
            raise ImportFormatError(f"duplicate {what} ids: {shown}{more}")
        if not self.questions:
            raise ImportFormatError(
                "no usable rows"
                + (
                    f"; first rejection: row {self.report.rejected[0].row}: {self.report.rejected[0].reason}"
                    if self.report.rejected
                    else ""
                )
            )
        self.report.accepted_questions = len(self.questions)
        self.report.accepted_responses = len(self.responses)
        return ImportResult(
            questions=list(self.questions.values()), responses=self.responses, report=self.report
        )
