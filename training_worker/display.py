"""How run pages show stored values: numbers formatted, mappings and lists of mappings as nested key/value
rows, never a Python repr."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NONE_TEXT = "\u2013"  # an en dash


@dataclass(frozen=True)
class Shown:
    """A value ready for a page: its text, or (for a mapping) its rows."""

    text: str = ""
    rows: list["Row"] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    key: str
    value: Shown


def format_number(value: float) -> str:
    """Whole numbers with thousands separators, tiny or huge ones in scientific notation (a learning rate
    reads 5.000e-05), the rest to four significant digits."""
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if value.is_integer() and magnitude < 1e15:
        return f"{int(value):,}"
    if magnitude < 1e-3 or magnitude >= 1e6:
        return f"{value:.3e}"
    if magnitude >= 1000:
        return f"{value:,.1f}"
    return f"{value:.4g}"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float)


def shown(value: Any) -> Shown:
    if value is None:
        return Shown(NONE_TEXT)
    if isinstance(value, bool):
        return Shown("yes" if value else "no")
    if isinstance(value, int | float):
        return Shown(format_number(value))
    if isinstance(value, str):
        return Shown(value)
    if isinstance(value, Mapping):
        return Shown(rows=key_value_rows(value)) if value else Shown("none")
    if isinstance(value, list | tuple):
        if not value:
            return Shown("none")
        if all(_is_scalar(item) for item in value):
            return Shown(", ".join(shown(item).text for item in value))
        return Shown(rows=[Row(str(index), shown(item)) for index, item in enumerate(value, start=1)])
    return Shown(str(value))


def key_value_rows(data: Mapping[str, Any]) -> list[Row]:
    """One row per key in key order; nested mappings and lists of them become nested rows."""
    return [Row(str(key), shown(data[key])) for key in sorted(data, key=str)]
