"""Gathers one import's records: questions deduplicated by text, and responses whose repeated rows are merged.

The one rule for repeated records, shared by every source: a row that repeats an earlier response id with the
same text (by :func:`text_fingerprint`) under the same question is folded into that response, keeping its
labels; a row that repeats an id with a different text, or under a different question, is rejected with the
reason. Nothing about repeated ids is fatal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

Labels = dict[str, Any]
#: Turns every annotation of one response, grouped by scope (e.g. EPITOME mechanism) in row order, into the
#: metadata keys the response stores next to the metadata of its first row.
LabelFold = Callable[[dict[str, list[Labels]]], dict[str, Any]]


def keep_every_annotation(by_scope: dict[str, list[Labels]]) -> dict[str, Any]:
    """Default fold: the first row's labels as metadata, plus every row's under ``annotations`` when the
    response was repeated with labels."""
    every = [labels for group in by_scope.values() for labels in group]
    if len(every) > 1 and any(every):
        return {**every[0], "annotations": every}
    return dict(every[0])


@dataclass
class _Seen:
    """An accepted response and, per scope, the row (and file) where it first appeared, the first scope's
    first: what repeats of its id are checked against and refer to."""

    record: CandidateResponseRecord
    first_rows: dict[str, tuple[int, str | None]]


class Collector:
    """Accumulates a parser's accepted records and its rejected/merged rows on the shared ``report``.

    ``response_id_name`` names the response id in messages (``"rp_id"``); ``fold`` builds each response's
    label metadata once every row is read. An import that reads several files sets :attr:`file` before each,
    so that row issues name their file.
    """

    def __init__(
        self,
        report: ImportReport,
        source: str,
        *,
        response_id_name: str = "response id",
        fold: LabelFold = keep_every_annotation,
    ) -> None:
        self.report = report
        self.source = source
        self.response_id_name = response_id_name
        self.file: str | None = None
        self.questions: dict[str, QuestionRecord] = {}
        self._by_fingerprint: dict[str, str] = {}
        self._first_row: dict[str, int] = {}
        self.responses: list[CandidateResponseRecord] = []
        self._response_fingerprints: dict[tuple[str, str], tuple[str, int]] = {}
        self._seen: dict[str, _Seen] = {}
        self._annotations: dict[str, dict[str, list[Labels]]] = {}
        self._fold = fold
        self._source_keys: dict[str, tuple[str, str]] = {}  # source key -> (canonical id, fingerprint)

    def knows_source_key(self, key: str) -> bool:
        """Whether an earlier row already named this source question key."""
        return key in self._source_keys

    def source_question(
        self,
        *,
        key: str,
        text: str,
        row: Row,
        record_id: str,
        conflict: str,
        merged: str,
        metadata: dict[str, Any] | None = None,
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
            external_id=key, text=text, row=row, metadata={"source_ids": [key], **(metadata or {})}
        )
        self._source_keys[key] = (question_id, fingerprint)
        if not created:
            self.questions[question_id].metadata["source_ids"].append(key)
            reason = merged.format(key=key, canonical=question_id, first_row=self.question_row(question_id))
            self.report.merged.append(self._issue(row, reason, key))
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
        labels: Labels | None = None,
        scope: str = "",
    ) -> bool:
        """Add a response, or fold a repeat of it in; False when the row is refused.

        ``labels`` are the row's own annotation (kept for every row of a repeated response, see the module
        docstring); ``scope`` groups them (EPITOME: one mechanism per file). A repeat is a row whose id was
        seen before *in the same scope*; it is counted in ``report.rows_merged`` and, when its labels differ
        from the scope's first row, in ``report.merged_disagreeing``. A text repeating another response to
        the same question under another id rejects the row.
        """
        fingerprint = text_fingerprint(text)
        seen = self._seen.get(external_id)
        if seen is not None:
            return self._fold_repeat(seen, question_id, fingerprint, row, labels or {}, scope)
        key = (question_id, fingerprint)
        if key in self._response_fingerprints:
            first_id, first_row = self._response_fingerprints[key]
            self.reject(
                row,
                f"duplicate response: same text as {first_id} (row {first_row}) for the same question",
                external_id,
            )
            return False
        self._response_fingerprints[key] = (external_id, row.number)
        record = CandidateResponseRecord(
            external_id=external_id,
            question_external_id=question_id,
            text=clean_text(text),
            origin=origin,
            text_sha256=fingerprint,
            metadata=metadata,
        )
        self.responses.append(record)
        self._seen[external_id] = _Seen(record, {scope: (row.number, self.file)})
        self._annotations[external_id] = {scope: [labels or {}]}
        return True

    def _fold_repeat(
        self, seen: _Seen, question_id: str, fingerprint: str, row: Row, labels: Labels, scope: str
    ) -> bool:
        name, external_id = self.response_id_name, seen.record.external_id
        first = self._where(*next(iter(seen.first_rows.values())))
        if seen.record.question_external_id != question_id:
            self.reject(
                row,
                f"{name} {external_id!r} already answers question {seen.record.question_external_id!r} "
                f"({first}), not {question_id!r}",
                external_id,
            )
            return False
        if seen.record.text_sha256 != fingerprint:
            self.reject(row, f"{name} {external_id!r} already has a different text ({first})", external_id)
            return False
        group = self._annotations[external_id].setdefault(scope, [])
        if group:
            self.count_repeat(
                row,
                f"{name} {external_id!r} repeats {self._where(*seen.first_rows[scope])}",
                external_id,
                disagree=labels != group[0],
                kept="both kept",
            )
        else:
            seen.first_rows[scope] = (row.number, self.file)
        group.append(labels)
        return True

    def _where(self, row: int, file: str | None) -> str:
        """A row as messages cite it: "row N", with its file when that is not the one being read."""
        return f"row {row}" + (f" of {file}" if file and file != self.file else "")

    def count_repeat(self, row: Row, what: str, record_id: str, *, disagree: bool, kept: str) -> None:
        """Count and report a row folded into an earlier one: ``what`` says which, ``kept`` what became of
        its labels when they differ."""
        self.report.rows_merged += 1
        self.report.merged_disagreeing += disagree
        reason = f"{what}; merged" + (f" (its labels differ; {kept})" if disagree else "")
        self.report.merged.append(self._issue(row, reason, record_id))

    def reject(self, row: Row, reason: str, record_id: str | None = None) -> None:
        """Reject ``row`` with ``reason``; the import goes on."""
        self.report.rejected.append(self._issue(row, reason, record_id))

    def _issue(self, row: Row, reason: str, record_id: str | None) -> RowIssue:
        return RowIssue(row.number, reason, line=row.line, record_id=record_id, file=self.file)

    def finish(self) -> ImportResult:
        """The result, each response's labels folded into its metadata; fatal when no question is left."""
        if not self.questions:
            raise ImportFormatError(
                "no usable rows"
                + (
                    f"; first rejection: row {self.report.rejected[0].row}: {self.report.rejected[0].reason}"
                    if self.report.rejected
                    else ""
                )
            )
        for record in self.responses:
            record.metadata.update(self._fold(self._annotations[record.external_id]))
        self.report.accepted_questions = len(self.questions)
        self.report.accepted_responses = len(self.responses)
        return ImportResult(
            questions=list(self.questions.values()), responses=self.responses, report=self.report
        )
