"""From input to rows: size limit, UTF-8 decoding, format detection and the CSV and JSONL row readers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal

from annotation.importers.records import ImportFormatError, ImportLimits, ImportReport, RowIssue

InputData = bytes | bytearray | memoryview | BinaryIO
FileFormat = Literal["csv", "jsonl"]

# Python's csv module refuses fields over 131,072 characters by default, which would turn one giant field
# into a fatal parse error. Raise the (process-wide, only ever increased) limit so such a field reaches the
# per-row length checks and rejects just its row.
_CSV_FIELD_LIMIT = 1 << 28
if csv.field_size_limit() < _CSV_FIELD_LIMIT:
    csv.field_size_limit(_CSV_FIELD_LIMIT)


def read_bytes(data: InputData, limits: ImportLimits) -> bytes:
    """The raw input, refusing text-mode files and anything over ``max_input_bytes``."""
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


def decode(raw: bytes) -> str:
    """UTF-8 (a BOM is accepted); anything else is fatal, with the offset and line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFormatError(
            f"input is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}); "
            "re-save the file as UTF-8"
        ) from None


def detect_format(text: str) -> FileFormat:
    """JSONL when the first non-blank character opens a JSON object, CSV otherwise."""
    stripped = text.lstrip()
    return "jsonl" if stripped.startswith("{") else "csv"


@dataclass
class Row:
    """One input record: its row number and starting line (see the package docstring) and its fields."""

    number: int
    line: int | None
    fields: dict[str, object]


class _CountedLines:
    """The text's physical lines, split as the csv module expects (``newline=""``), counting characters
    consumed so that a record's raw text can be found again from where it starts."""

    def __init__(self, text: str) -> None:
        self._stream = io.StringIO(text, newline="")
        self.consumed = 0

    def __iter__(self) -> _CountedLines:
        return self

    def __next__(self) -> str:
        line = self._stream.readline()
        if not line:
            raise StopIteration
        self.consumed += len(line)
        return line


def _open_quote_offset(record: str) -> int | None:
    """Offset of the quote that opens a field still open at the end of ``record``, or None.

    Follows the csv module's default (excel, non-strict) reading: a quote opens a field only as the field's
    first character, ``""`` inside a quoted field is a literal quote, and a quote inside an unquoted field is
    text. The csv module itself reads an unclosed quoted field silently to the end of the file.
    """
    in_quotes = False
    at_field_start = True
    opened_at = 0
    index, size = 0, len(record)
    while index < size:
        char = record[index]
        if in_quotes:
            if char == '"':
                if index + 1 < size and record[index + 1] == '"':
                    index += 1
                else:
                    in_quotes = False
        elif char == '"' and at_field_start:
            in_quotes, opened_at = True, index
        at_field_start = not in_quotes and char in ",\r\n"
        index += 1
    return opened_at if in_quotes else None


def _line_breaks(text: str) -> int:
    """Physical line breaks in ``text`` (``\n``, ``\r`` or ``\r\n``), as the csv module counts lines."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _refuse_if_truncated(record: str, start_line: int) -> None:
    """Fatal when ``record`` (a record's raw text, from physical line ``start_line`` to the end of what the
    csv module read for it) ends inside a quoted field: the file was cut off, or a quote never closes, and
    the csv module would silently read the rest of the file into that one field."""
    opened_at = _open_quote_offset(record)
    if opened_at is not None:
        line = start_line + _line_breaks(record[:opened_at])
        raise ImportFormatError(
            f"the file ends inside a quoted field that starts on line {line}: it looks truncated"
        )


def csv_rows(text: str, required: Sequence[str], report: ImportReport) -> Iterator[Row]:
    """Rows of a CSV with a header; fatal on a bad header, a missing column or a truncated last record
    (checked once every row was read), while a wrong field count rejects only its row."""
    lines = _CountedLines(text)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError("the file is empty") from None
    except csv.Error as exc:
        raise ImportFormatError(f"cannot parse CSV header: {exc}") from None
    _refuse_if_truncated(text[: lines.consumed], 1)
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
    last_start, last_line = lines.consumed, previous_line + 1
    while True:
        record_start = lines.consumed
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportFormatError(f"cannot parse CSV near line {reader.line_num}: {exc}") from None
        start_line = previous_line + 1
        previous_line = reader.line_num
        last_start, last_line = record_start, start_line
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        number += 1
        report.rows_read += 1
        if len(values) != len(names):
            report.rejected.append(
                RowIssue(number, f"expected {len(names)} fields, found {len(values)}", line=start_line)
            )
            continue
        yield Row(number, start_line, dict(zip(names, values, strict=True)))
    _refuse_if_truncated(text[last_start:], last_line)


def jsonl_rows(text: str, required: Sequence[str], report: ImportReport) -> Iterator[Row]:
    """Rows of JSON Lines; a bad line is rejected, and it is fatal when no line has the required fields."""
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
        yield Row(number, number, {key: value for key, value in obj.items()})
    if report.rows_read and not saw_required and rejected_missing == report.rows_read:
        raise ImportFormatError(f"no line has the required fields: {', '.join(required)}")


def read_rows(
    data: InputData,
    file_format: FileFormat | None,
    required: Sequence[str],
    report: ImportReport,
    limits: ImportLimits,
) -> Iterator[Row]:
    """Decode ``data`` and iterate its rows in ``file_format`` (detected when None), noted on ``report``."""
    text = decode(read_bytes(data, limits))
    chosen = file_format or detect_format(text)
    report.file_format = chosen
    if chosen == "csv":
        return csv_rows(text, required, report)
    if chosen == "jsonl":
        return jsonl_rows(text, required, report)
    raise ValueError(f"unknown format {file_format!r}")
