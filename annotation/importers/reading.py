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


def csv_rows(text: str, required: Sequence[str], report: ImportReport) -> Iterator[Row]:
    """Rows of a CSV with a header; fatal on a bad header or missing column, a wrong field count rejects."""
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
        yield Row(number, start_line, dict(zip(names, values, strict=True)))


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
