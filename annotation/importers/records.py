"""What every importer produces: the fatal error, size limits, parsed records and the import report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ImportFormatError(ValueError):
    """The input as a whole cannot be imported (encoding, columns, a truncated file, no usable rows)."""


@dataclass(frozen=True)
class ImportLimits:
    """Size limits. Fields over a limit reject their row; input over ``max_input_bytes`` is fatal."""

    max_input_bytes: int = 256 * 1024 * 1024
    max_id_chars: int = 128
    max_question_chars: int = 20_000
    max_response_chars: int = 20_000
    max_metadata_chars: int = 10_000
    max_persona_chars: int = 20_000


DEFAULT_LIMITS = ImportLimits()


@dataclass(frozen=True)
class QuestionRecord:
    """A help-seeking question. ``external_id`` is stable across re-imports of the same source."""

    external_id: str
    text: str
    source: str
    text_sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CandidateResponseRecord:
    """A candidate response to a question, with its origin (e.g. "epitome", "counsel_chat", a model name)."""

    external_id: str
    question_external_id: str
    text: str
    origin: str
    text_sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RowIssue:
    """A rejected, merged or warned-about row: ``row`` number (package docstring), reason and context.

    ``file`` names the input file when one import reads several (row numbers count per file).
    """

    row: int
    reason: str
    line: int | None = None
    record_id: str | None = None
    file: str | None = None


@dataclass
class ImportReport:
    """What happened: counts, and every rejected/merged row with its reason.

    ``rows_merged`` counts rows that repeat an earlier row's record (same id, same text, same question) and
    were folded into it; ``merged_disagreeing`` counts those of them whose labels differ from the first row's.
    """

    source: str
    file_format: str
    rows_read: int = 0
    accepted_questions: int = 0
    accepted_responses: int = 0
    rows_merged: int = 0
    merged_disagreeing: int = 0
    rejected: list[RowIssue] = field(default_factory=list)
    merged: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable summary for display and audit logs."""
        return {
            "source": self.source,
            "format": self.file_format,
            "rows_read": self.rows_read,
            "accepted_questions": self.accepted_questions,
            "accepted_responses": self.accepted_responses,
            "rows_merged": self.rows_merged,
            "merged_disagreeing": self.merged_disagreeing,
            "rejected": [issue.__dict__ for issue in self.rejected],
            "merged": [issue.__dict__ for issue in self.merged],
            "warnings": [issue.__dict__ for issue in self.warnings],
            "facts": dict(self.facts),
        }


@dataclass
class ImportResult:
    """Parsed records (questions and their candidate responses, in first-seen order) and the report."""

    questions: list[QuestionRecord]
    responses: list[CandidateResponseRecord]
    report: ImportReport

    def responses_for(self, question_external_id: str) -> list[CandidateResponseRecord]:
        return [r for r in self.responses if r.question_external_id == question_external_id]

    def response_counts(self) -> dict[str, int]:
        counts = {q.external_id: 0 for q in self.questions}
        for response in self.responses:
            counts[response.question_external_id] += 1
        return counts
