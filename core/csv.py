"""The one CSV writer of the platform: cells a spreadsheet would run as a formula are written as text.

Every CSV the platform hands out (survey responses, audit log, evaluation and study tables) may carry text a
participant, a clinician or an anonymous visitor typed. Excel, LibreOffice and Google Sheets execute a cell
that starts with ``=``, ``+``, ``-`` or ``@`` (and, after a tab or a carriage return, still parse it), so such
a cell is prefixed with a single quote, as OWASP recommends; the spreadsheet shows it as text.

Only ``str`` cells are escaped: numbers written as ``int``/``float`` (a negative win-rate difference, say)
stay numbers. A *string* ``"-5"`` is escaped to ``"'-5"``: text that looks like a number is still text
typed by someone, and a reader who wants the number strips the leading quote.
"""

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` unchanged, unless it is a string a spreadsheet would run: then `'` + the string."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer with every cell passed through `safe_cell`."""

    def __init__(self, file: IO[str], **kwargs: Any) -> None:
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """csv.DictWriter with every value, header names included, passed through `safe_cell`."""

    def __init__(self, file: IO[str], fieldnames: Sequence[str], **kwargs: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = csv.DictWriter(file, fieldnames=self.fieldnames, **kwargs)

    def writeheader(self) -> Any:
        return self.writerow({name: name for name in self.fieldnames})

    def writerow(self, row: Mapping[str, Any]) -> Any:
        return self._writer.writerow({key: safe_cell(value) for key, value in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)
