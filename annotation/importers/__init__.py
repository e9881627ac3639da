"""Parsers for question banks and candidate responses: bytes in, records and an import report out.

Django-free on purpose: a view or Celery task reads the upload, calls one of the ``parse_*`` functions and
stores the records; the report is shown to the researcher as is.

Rules shared by every parser
----------------------------
* Input is ``bytes`` or a binary file-like object and must be UTF-8 (a BOM is accepted). Anything else is a
  fatal :class:`ImportFormatError` that says so; nothing is guessed.
* Fatal errors (:class:`ImportFormatError`): wrong encoding, input over ``max_input_bytes``, unparseable CSV,
  a CSV that ends inside a quoted field (truncated: the csv module would read the rest into one field and
  the last row would come out short), missing required columns, no usable row at all. Row errors never abort
  an import: the row is rejected and listed in ``report.rejected`` with its row number and reason.
* Repeated ids (one rule, in :class:`~annotation.importers.collector.Collector`): a row repeating a record's
  id with the same normalised text under the same question is *merged* into it, keeping its labels (EPITOME:
  every level and rationale set), counted in ``report.rows_merged`` and, when its labels differ from the first
  row's, in ``report.merged_disagreeing``, and listed in ``report.merged``. The same id with another text or
  under another question rejects that row, with the reason.
* Row numbers: CSV rows count data records from 1 (the header is not counted; a record whose fields span
  several lines is one row, and ``line`` gives the physical line where it starts); JSONL rows are line
  numbers. When one import reads several files, rows count per file and every issue names its ``file``.
* Field limits (:class:`ImportLimits`): an empty required field, a field over its length limit or a field
  holding a NUL character rejects that row only.
* Deduplication by normalised text (:func:`normalize_text`: NFKC, case-folded, whitespace collapsed):
  questions with the same normalised text are one question (later source ids are *merged* into the first and
  listed in ``report.merged``); a response whose normalised text repeats another response to the same
  question is rejected as a duplicate.
* Stored text keeps its original wording: line endings normalised to ``\\n`` and outer whitespace stripped.

Supported sources: EPITOME (CSV or JSONL; one file, or several, one per mechanism, merged by
:func:`parse_epitome_files`), Counsel Chat (CSV), plain question / response tables, and judge personas (plain
text, CSV or JSONL).
:func:`split_train_test` makes the seeded, order-independent train/test split (the study: 2,379 / 600),
optionally stratified.

Modules: ``reading`` (bytes to rows), ``records`` (results and report), ``collector`` (dedupe and merge),
``text`` and ``fields`` (normalisation and per-field checks), one module per source (``epitome``,
``counsel_chat`` with ``scrubbing``, ``tables``, ``personas``) and ``splitting``. The public names are
re-exported here.
"""

from annotation.importers.counsel_chat import parse_counsel_chat
from annotation.importers.epitome import (
    EPITOME_MECHANISMS,
    epitome_mechanism,
    parse_epitome,
    parse_epitome_files,
)
from annotation.importers.personas import PersonaRecord, parse_personas
from annotation.importers.records import (
    CandidateResponseRecord,
    ImportFormatError,
    ImportLimits,
    ImportReport,
    ImportResult,
    QuestionRecord,
    RowIssue,
)
from annotation.importers.splitting import (
    SplitResult,
    questions_with_min_responses,
    split_train_test,
    stratum_quotas,
)
from annotation.importers.tables import parse_question_table, parse_response_table
from annotation.importers.text import normalize_text, text_fingerprint

__all__ = [
    "EPITOME_MECHANISMS",
    "CandidateResponseRecord",
    "ImportFormatError",
    "ImportLimits",
    "ImportReport",
    "ImportResult",
    "PersonaRecord",
    "QuestionRecord",
    "RowIssue",
    "SplitResult",
    "epitome_mechanism",
    "normalize_text",
    "parse_counsel_chat",
    "parse_epitome",
    "parse_epitome_files",
    "parse_personas",
    "parse_question_table",
    "parse_response_table",
    "questions_with_min_responses",
    "split_train_test",
    "stratum_quotas",
    "text_fingerprint",
]
