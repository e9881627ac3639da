"""Parsers for question banks and candidate responses: bytes in, records and an import report out.

Django-free on purpose: a view or Celery task reads the upload, calls one of the ``parse_*`` functions and
stores the records; the report is shown to the researcher as is.

Rules shared by every parser
----------------------------
* Input is ``bytes`` or a binary file-like object and must be UTF-8 (a BOM is accepted). Anything else is a
  fatal :class:`ImportFormatError` that says so; nothing is guessed.
* Fatal errors (:class:`ImportFormatError`): wrong encoding, input over ``max_input_bytes``, unparseable CSV,
  missing required columns, duplicate ids, no usable row at all. Row errors never abort an import: the row is
  rejected and listed in ``report.rejected`` with its row number and reason.
* Row numbers: CSV rows count data records from 1 (the header is not counted; a record whose fields span
  several lines is one row, and ``line`` gives the physical line where it starts); JSONL rows are line
  numbers.
* Field limits (:class:`ImportLimits`): an empty required field, a field over its length limit or a field
  holding a NUL character rejects that row only.
* Deduplication by normalised text (:func:`normalize_text`: NFKC, case-folded, whitespace collapsed):
  questions with the same normalised text are one question (later source ids are *merged* into the first and
  listed in ``report.merged``); a response whose normalised text repeats another response to the same
  question is rejected as a duplicate.
* Stored text keeps its original wording: line endings normalised to ``\\n`` and outer whitespace stripped.

Supported sources: EPITOME (CSV or JSONL), Counsel Chat (CSV), plain question / response tables, and judge
personas (plain text, CSV or JSONL).
:func:`split_train_test` makes the seeded, order-independent train/test split (the study: 2,379 / 600).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

__all__ = [
    "CandidateResponseRecord",
    "ImportFormatError",
    "ImportLimits",
    "ImportReport",
    "ImportResult",
    "PersonaRecord",
    "QuestionRecord",
    "RowIssue",
    "SplitResult",
    "normalize_text",
    "parse_counsel_chat",
    "parse_epitome",
    "parse_personas",
    "parse_question_table",
    "parse_response_table",
    "questions_with_min_responses",
    "split_train_test",
    "text_fingerprint",
]

InputData = bytes | bytearray | memoryview | BinaryIO
FileFormat = Literal["csv", "jsonl"]

# Python's csv module refuses fields over 131,072 characters by default, which would turn one giant field
# into a fatal parse error. Raise the (process-wide, only ever increased) limit so such a field reaches the
# per-row length checks and rejects just its row.
_CSV_FIELD_LIMIT = 1 << 28
if csv.field_size_limit() < _CSV_FIELD_LIMIT:
    csv.field_size_limit(_CSV_FIELD_LIMIT)


class ImportFormatError(ValueError):
    """The input as a whole cannot be imported (encoding, columns, duplicate ids, no usable rows)."""


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
    """A rejected, merged or warned-about row: ``row`` number (see module docstring), reason and context."""

    row: int
    reason: str
    line: int | None = None
    record_id: str | None = None


@dataclass
class ImportReport:
    """What happened: counts, and every rejected/merged row with its reason."""

    source: str
    file_format: str
    rows_read: int = 0
    accepted_questions: int = 0
    accepted_responses: int = 0
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


# ---------------------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """Deduplication key: NFKC, case-folded, all whitespace runs collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_fingerprint(text: str) -> str:
    """SHA-256 hex digest of :func:`normalize_text` (what dedupe compares; handy as a DB unique key)."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _check_field(value: str, name: str, limit: int, *, required: bool = True) -> str | None:
    """Reason the field is unacceptable, or None."""
    if required and not value.strip():
        return f"{name} is empty"
    if len(value) > limit:
        return f"{name} has {len(value)} characters (limit {limit})"
    if "\x00" in value:
        return f"{name} contains a NUL character"
    return None


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------------------
# Decoding and record iteration
# ---------------------------------------------------------------------------------------------------------


def _read_bytes(data: InputData, limits: ImportLimits) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    elif hasattr(data, "read"):
        raw = data.read(limits.max_input_bytes + 1)
        if isinstance(raw, str):
            raise ImportFormatError("open the file in binary mode ('rb'); the importer decodes UTF-8 itself")
    else:
        raise TypeError(f"expected bytes or a binary file object, got {type(data).__name__}")
    if len(raw) > limits.max_input_bytes:
        raise ImportFormatError(f"input is larger than {limits.max_input_bytes} bytes")
    return raw


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFormatError(
            f"input is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}); "
            "re-save the file as UTF-8"
        ) from None


def _detect_format(text: str) -> FileFormat:
    stripped = text.lstrip()
    return "jsonl" if stripped.startswith("{") else "csv"


@dataclass
class _Row:
    number: int
    line: int | None
    fields: dict[str, object]


def _csv_rows(text: str, required: Sequence[str], report: ImportReport) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError("the file is empty") from None
    except csv.Error as exc:
        raise ImportFormatError(f"cannot parse CSV header: {exc}") from None
    names = [name.strip() for name in header]
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if duplicates:
        raise ImportFormatError(f"duplicate column names: {', '.join(duplicates)}")
    missing = [column for column in required if column not in names]
    if missing:
        raise ImportFormatError(
            f"missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(n or '<unnamed>' for n in names)})"
        )
    number = 0
    previous_line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFormatError(f"cannot parse CSV near line {reader.line_num}: {exc}") from None
        start_line = previous_line + 1
        previous_line = reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        number += 1
        report.rows_read += 1
        if len(values) != len(names):
            report.rejected.append(
                RowIssue(number, f"expected {len(names)} fields, found {len(values)}", line=start_line)
            )
            continue
        yield _Row(number, start_line, dict(zip(names, values, strict=True)))


def _jsonl_rows(text: str, required: Sequence[str], report: ImportReport) -> Iterator[_Row]:
    saw_required = False
    rejected_missing = 0
    # Split on "\n" only: str.splitlines() would also split on U+2028 etc., which JSON allows inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        report.rows_read += 1
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report.rejected.append(
                RowIssue(number, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number)
            )
            continue
        if not isinstance(obj, dict):
            report.rejected.append(RowIssue(number, "line is not a JSON object", line=number))
            continue
        missing = [key for key in required if key not in obj]
        if missing:
            rejected_missing += 1
            report.rejected.append(RowIssue(number, f"missing field(s): {', '.join(missing)}", line=number))
            continue
        saw_required = True
        yield _Row(number, number, {key: value for key, value in obj.items()})
    if report.rows_read and not saw_required and rejected_missing == report.rows_read:
        raise ImportFormatError(f"no line has the required fields: {', '.join(required)}")


def _rows(
    data: InputData,
    file_format: FileFormat | None,
    required: Sequence[str],
    report: ImportReport,
    limits: ImportLimits,
) -> Iterator[_Row]:
    text = _decode(_read_bytes(data, limits))
    chosen = file_format or _detect_format(text)
    report.file_format = chosen
    if chosen == "csv":
        return _csv_rows(text, required, report)
    if chosen == "jsonl":
        return _jsonl_rows(text, required, report)
    raise ValueError(f"unknown format {file_format!r}")


# ---------------------------------------------------------------------------------------------------------
# Collector: question dedupe/merge, response dedupe, duplicate-id detection
# ---------------------------------------------------------------------------------------------------------


class _Collector:
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
        row: _Row,
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
        self, *, external_id: str, text: str, row: _Row, metadata: dict[str, Any]
    ) -> tuple[str, bool]:
        """Canonical question id for this text, and whether it was newly created."""
        fingerprint = text_fingerprint(text)
        existing = self._by_fingerprint.get(fingerprint)
        if existing is not None:
            return existing, False
        record = QuestionRecord(
            external_id=external_id,
            text=_clean(text),
            source=self.source,
            text_sha256=fingerprint,
            metadata=metadata,
        )
        self.questions[external_id] = record
        self._by_fingerprint[fingerprint] = external_id
        self._first_row[external_id] = row.number
        return external_id, True

    def question_row(self, external_id: str) -> int:
        return self._first_row[external_id]

    def response(
        self,
        *,
        external_id: str,
        question_id: str,
        text: str,
        origin: str,
        row: _Row,
        metadata: dict[str, Any],
    ) -> bool:
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
                text=_clean(text),
                origin=origin,
                text_sha256=fingerprint,
                metadata=metadata,
            )
        )
        return True

    def reject(self, row: _Row, reason: str, record_id: str | None = None) -> None:
        self.report.rejected.append(RowIssue(row.number, reason, line=row.line, record_id=record_id))

    def finish(self, what: str) -> ImportResult:
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


def _first_problem(checks: Iterable[str | None]) -> str | None:
    for problem in checks:
        if problem:
            return problem
    return None


# ---------------------------------------------------------------------------------------------------------
# EPITOME
# ---------------------------------------------------------------------------------------------------------

EPITOME_COLUMNS = ("sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales")
_EPITOME_REQUIRED = ("sp_id", "rp_id", "seeker_post", "response_post")


def _parse_rationales(value: object) -> list[str]:
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
    collector = _Collector(report, "epitome")
    for row in _rows(data, file_format, _EPITOME_REQUIRED, report, limits):
        sp_id = _as_text(row.fields.get("sp_id")).strip()
        rp_id = _as_text(row.fields.get("rp_id")).strip()
        seeker = _as_text(row.fields.get("seeker_post"))
        response = _as_text(row.fields.get("response_post"))
        problem = _first_problem(
            [
                _check_field(sp_id, "sp_id", limits.max_id_chars),
                _check_field(rp_id, "rp_id", limits.max_id_chars),
                _check_field(seeker, "seeker_post", limits.max_question_chars),
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
        level_text = _as_text(row.fields.get("level")).strip()
        rationales = _parse_rationales(row.fields.get("rationales"))
        problem = _first_problem(
            [
                _check_field(response, "response_post", limits.max_response_chars),
                None
                if level_text in {"", "0", "1", "2"}
                else f"level must be 0, 1 or 2 (got {level_text[:20]!r})",
                _check_field(_as_text(rationales), "rationales", limits.max_metadata_chars, required=False),
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


# ---------------------------------------------------------------------------------------------------------
# Counsel Chat
# ---------------------------------------------------------------------------------------------------------

_COUNSEL_CHAT_REQUIRED = ("questionID", "questionTitle", "questionText", "answerText")
#: Columns that identify real people or pages: read only to scrub answers, never kept.
COUNSEL_CHAT_DROPPED_COLUMNS = ("therapistInfo", "therapistURL", "questionLink")

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_DOMAIN_RE = re.compile(
    r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|info|io|us|co|ca|uk|biz|me)\b"
    r"(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)
# Credential and title tokens that appear in therapist URL slugs (not parts of a name).
# fmt: off
_CREDENTIALS = frozenset((
    "acsw", "aamft", "atr", "bcd", "bc", "cadc", "caps", "casac", "ccc", "ccmhc", "cht", "clc", "clt",
    "cmhc", "cpc", "csat", "dbh", "dcc", "dcsw", "edd", "jd", "lac", "ladc", "lcadc", "lcasa",
    "lcat", "lcmhc", "lcpc", "lcsw", "lcswr", "lcswc", "licsw", "limhp", "lisw", "lmac", "lmft", "lmhc",
    "lmhca", "lmhp", "lmsw", "lpa", "lpc", "lpca", "lpcc", "lpcmh", "lpcs", "lpe", "lsw", "ma", "mac",
    "med", "mdiv", "mft", "mfti", "mfc", "mph", "ms", "msw", "ncc", "nccc", "otr", "phd", "pllc", "psy",
    "psyd", "rcswi", "rn", "rpc", "rpt", "llc", "inc", "pc", "pa", "dr",
))
# fmt: on
_NAME_SEPARATOR = r"[\s.,'\u2019-]*"
# A name starts at a word boundary or where a signature is glued to the previous word ("wellRobin").
_WORD_START = r"(?:\b|(?-i:(?<=[a-z])(?=[A-Z])))"


@dataclass(frozen=True)
class _TherapistName:
    """How to find one therapist's name in their own answers (derived from the URL slug and info line)."""

    full: re.Pattern[str] | None  # 2+ consecutive name words, or an organisation's full name
    surname: str | None  # capitalised surname, scrubbed anywhere
    first_name: str | None  # capitalised first name, scrubbed only in the signature zone


_SIGNATURE_ZONE = 160  # characters at the end of an answer where a bare first name is treated as a signature


def _therapist_name(therapist_info: str, therapist_url: str) -> _TherapistName:
    slug = therapist_url.rstrip("/").rsplit("/", 1)[-1].lower() if therapist_url else ""
    slug_tokens = [t for t in slug.split("-") if t and not t.isdigit()]
    person = [t for t in slug_tokens if t not in _CREDENTIALS and len(t) >= 2]
    if len(person) > 4:
        # An organisation, not a person: scrub only its full name as it appears in the slug.
        return _TherapistName(
            re.compile(_NAME_SEPARATOR.join(map(re.escape, slug_tokens)), re.IGNORECASE), None, None
        )
    info_head = re.sub(r"^dr\.?\s+", "", therapist_info.split(",", 1)[0].strip(), flags=re.IGNORECASE)
    info_words = [w.rstrip(".") for w in info_head.split()]
    words = set(person)
    if 2 <= len(info_words) <= 3 and all(re.fullmatch(r"[^\W\d_][\w'\u2019-]*", w) for w in info_words):
        words.update(w.lower() for w in info_words if len(w) >= 2)
    full = None
    if len(words) >= 2:
        name_word = "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"
        initial = r"(?:[^\W\d_]\.)"
        full = re.compile(
            rf"(?:\bdr\.?\s*)?{_WORD_START}{name_word}(?:{_NAME_SEPARATOR}(?:{name_word}|{initial}))*"
            rf"{_NAME_SEPARATOR}{name_word}",
            re.IGNORECASE,
        )
    long_person = [t for t in person if len(t) >= 3]
    surname = long_person[-1].capitalize() if len(long_person) >= 2 and len(long_person[-1]) >= 4 else None
    first_name = long_person[0].capitalize() if long_person else None
    return _TherapistName(full, surname, first_name)


# A capitalised word glued to the end of a URL ("...ovc-20197416Recently", "www.help.com.Be") is the start of
# the next sentence, not part of the link: it is given back to the text.
_GLUED_WORD = re.compile(r"(?<=[a-z0-9/-])\.?[A-Z][a-z]+[.,;:!?]*$")


def _replace_link(match: re.Match[str]) -> str:
    url = match.group(0)
    tail = _GLUED_WORD.search(url)
    if tail is not None and "." in url[: tail.start()].split("//", 1)[-1]:
        return "[link] " + url[tail.start() :].lstrip(".")
    return "[link]"


def scrub_links(text: str) -> str:
    """Replace e-mail addresses, URLs and bare web domains by ``[email]`` / ``[link]``."""
    text = _EMAIL_RE.sub("[email]", text)
    text = _URL_RE.sub(_replace_link, text)
    return _DOMAIN_RE.sub(_replace_link, text)


def _scrub_answer(text: str, therapist_info: str, therapist_url: str) -> str:
    """Links/e-mails -> placeholders; the author's name (full, surname, signed first name) -> [therapist]."""
    text = scrub_links(text)
    name = _therapist_name(therapist_info, therapist_url)
    if name.full is not None:
        text = name.full.sub("[therapist]", text)
    if name.surname:
        text = re.sub(rf"(?<![A-Z]){re.escape(name.surname)}(?![a-z])", "[therapist]", text)
    if name.first_name:
        cut = max(0, len(text) - _SIGNATURE_ZONE)
        tail = re.sub(rf"(?<![A-Za-z]){re.escape(name.first_name)}(?![a-z])", "[therapist]", text[cut:])
        text = text[:cut] + tail
        text = re.sub(
            rf"\b((?:I'm|I am|my name is|this is)\s+){re.escape(name.first_name)}(?![a-z])",
            r"\1[therapist]",
            text,
            flags=re.IGNORECASE,
        )
    return text


def _int_or_none(value: object) -> int | None:
    text = _as_text(value).strip()
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
    ``source_question_id``; repeated answers to the same question are rejected as duplicates.

    ``therapistInfo``, ``therapistURL`` and ``questionLink`` are never kept. With ``scrub`` (default) each
    answer also has e-mail addresses and URLs replaced by ``[email]``/``[link]`` and its author's name
    (signatures) by ``[therapist]``. ``report.facts`` records the raw counts by source questionID.
    """
    report = ImportReport(source="counsel_chat", file_format="csv")
    collector = _Collector(report, "counsel_chat")
    texts_by_source_id: dict[str, set[str]] = {}
    rows_by_source_id: dict[str, int] = {}
    merged_pairs: set[tuple[str, str]] = set()
    canonical_source: dict[str, str] = {}  # question external id -> first source questionID
    for row in _rows(data, "csv", _COUNSEL_CHAT_REQUIRED, report, limits):
        fields = row.fields
        source_id = _as_text(fields.get("questionID")).strip()
        title = _clean(_as_text(fields.get("questionTitle")))
        body = _clean(_as_text(fields.get("questionText")))
        answer = _as_text(fields.get("answerText"))
        index_text = _as_text(fields.get("")).strip()
        answer_id = f"cc-a-{index_text}" if index_text else f"cc-a-row{row.number}"
        if title and body and not normalize_text(body).startswith(normalize_text(title)):
            question_text = f"{title}\n\n{body}"
        else:
            question_text = body or title
        problem = _first_problem(
            [
                _check_field(source_id, "questionID", limits.max_id_chars),
                _check_field(question_text, "question text", limits.max_question_chars),
                _check_field(
                    _as_text(fields.get("topic")), "topic", limits.max_metadata_chars, required=False
                ),
            ]
        )
        if problem:
            collector.reject(row, problem, answer_id)
            continue
        rows_by_source_id[source_id] = rows_by_source_id.get(source_id, 0) + 1
        fingerprint = text_fingerprint(question_text)
        texts_by_source_id.setdefault(source_id, set()).add(fingerprint)
        topic = _as_text(fields.get("topic")).strip()
        split = _as_text(fields.get("split")).strip()
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

        answer_problem = _check_field(answer, "answerText", limits.max_response_chars)
        if answer_problem:
            collector.reject(row, answer_problem, answer_id)
            continue
        text = answer
        if scrub:
            text = _scrub_answer(
                answer, _as_text(fields.get("therapistInfo")), _as_text(fields.get("therapistURL"))
            )
        upvotes = _int_or_none(fields.get("upvotes"))
        views = _int_or_none(fields.get("views"))
        for name, value, parsed in (
            ("upvotes", fields.get("upvotes"), upvotes),
            ("views", fields.get("views"), views),
        ):
            if parsed is None and _as_text(value).strip():
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
    return collector.finish("answer (row index)")


def _sort_key(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isdigit() else (1, value)


# ---------------------------------------------------------------------------------------------------------
# Plain tables (a researcher's question bank; generated candidate responses)
# ---------------------------------------------------------------------------------------------------------


def _extra_metadata(
    fields: Mapping[str, object], used: Iterable[str], limits: ImportLimits
) -> tuple[dict, str | None]:
    used_set = set(used)
    extra = {key: value for key, value in fields.items() if key not in used_set and key}
    problem = _check_field(_as_text(extra), "extra columns", limits.max_metadata_chars, required=False)
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
    collector = _Collector(report, source)
    seen_ids: dict[str, int] = {}
    for row in _rows(data, file_format, (id_field, text_field), report, limits):
        question_key = _as_text(row.fields.get(id_field)).strip()
        text = _as_text(row.fields.get(text_field))
        extra, extra_problem = _extra_metadata(row.fields, (id_field, text_field), limits)
        problem = _first_problem(
            [
                _check_field(question_key, id_field, limits.max_id_chars),
                _check_field(text, text_field, limits.max_question_chars),
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
    collector = _Collector(report, source)
    for row in _rows(data, file_format, required, report, limits):
        question_key = _as_text(row.fields.get("question_id")).strip()
        response_key = _as_text(row.fields.get("response_id")).strip()
        question_text = _as_text(row.fields.get("question_text"))
        response_text = _as_text(row.fields.get("response_text"))
        extra, extra_problem = _extra_metadata(row.fields, required, limits)
        external_id = f"{question_key}:{response_key}"
        problem = _first_problem(
            [
                _check_field(question_key, "question_id", limits.max_id_chars),
                _check_field(response_key, "response_id", limits.max_id_chars),
                _check_field(question_text, "question_text", limits.max_question_chars),
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
        problem = _first_problem(
            [_check_field(response_text, "response_text", limits.max_response_chars), extra_problem]
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


# ---------------------------------------------------------------------------------------------------------
# Judge personas
# ---------------------------------------------------------------------------------------------------------

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


def _persona_text_rows(text: str, report: ImportReport) -> Iterator[_Row]:
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
        yield _Row(number, start, {"text": body})


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
    text = _decode(_read_bytes(data, limits))
    chosen = file_format or ("jsonl" if _detect_format(text) == "jsonl" else "text")
    report.file_format = chosen
    if chosen == "text":
        rows: Iterator[_Row] = _persona_text_rows(text, report)
    elif chosen == "csv":
        rows = _csv_rows(text, ("text",), report)
    elif chosen == "jsonl":
        rows = _jsonl_rows(text, ("text",), report)
    else:
        raise ValueError(f"unknown persona format {file_format!r}")
    records: list[PersonaRecord] = []
    by_fingerprint: dict[str, str] = {}
    seen_ids: dict[str, int] = {}
    duplicate_ids: list[str] = []
    for row in rows:
        body = _as_text(row.fields.get("text"))
        fingerprint = text_fingerprint(body)
        source_id = _as_text(row.fields.get("source_id")).strip() or f"persona-{fingerprint[:16]}"
        split = _as_text(row.fields.get("split")).strip().lower() or None
        problem = _first_problem(
            [
                _check_field(body, "text", limits.max_persona_chars),
                _check_field(source_id, "source_id", limits.max_id_chars),
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
        records.append(PersonaRecord(source_id, _clean(body), fingerprint, split))
    if duplicate_ids:
        raise ImportFormatError(f"duplicate source_id values: {'; '.join(duplicate_ids[:10])}")
    if not records:
        first = report.rejected[0] if report.rejected else None
        raise ImportFormatError(
            "no usable persona" + (f"; first rejection: row {first.row}: {first.reason}" if first else "")
        )
    return records, report


# ---------------------------------------------------------------------------------------------------------
# Selection and splitting
# ---------------------------------------------------------------------------------------------------------


def questions_with_min_responses(result: ImportResult, *, k: int) -> list[QuestionRecord]:
    """Questions that have at least ``k`` accepted candidate responses (e.g. k=5 for the study's rankings)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    counts = result.response_counts()
    return [q for q in result.questions if counts[q.external_id] >= k]


@dataclass(frozen=True)
class SplitResult:
    """A deterministic train/test split; both tuples keep the input order."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    seed: int | str


def split_train_test(
    ids: Iterable[str],
    *,
    seed: int | str,
    test_fraction: float | None = None,
    test_count: int | None = None,
) -> SplitResult:
    """Seeded split of ids into train/test, by fraction or exact count (the study: ``test_count=600``).

    Each id is ranked by ``sha256(f"{seed}\\x1f{id}")`` and the lowest ``n_test`` go to test, so the split
    depends only on the seed and the set of ids: not on input order, Python/numpy versions or platform,
    and adding ids never moves an existing id from test to train unless it displaces it by rank.
    ``n_test = round_half_up(test_fraction * n)`` when a fraction is given. Duplicate ids raise.
    """
    items = [str(i) for i in ids]
    if len(set(items)) != len(items):
        raise ValueError("ids must be unique")
    if (test_fraction is None) == (test_count is None):
        raise ValueError("give exactly one of test_fraction or test_count")
    n = len(items)
    if test_fraction is not None:
        if not 0.0 <= test_fraction <= 1.0:
            raise ValueError("test_fraction must be within [0, 1]")
        n_test = int(test_fraction * n + 0.5)
    else:
        assert test_count is not None
        if not 0 <= test_count <= n:
            raise ValueError(f"test_count must be within [0, {n}]")
        n_test = test_count
    ranked = sorted(items, key=lambda i: (hashlib.sha256(f"{seed}\x1f{i}".encode()).hexdigest(), i))
    test_set = set(ranked[:n_test])
    return SplitResult(
        train=tuple(i for i in items if i not in test_set),
        test=tuple(i for i in items if i in test_set),
        seed=seed,
    )
