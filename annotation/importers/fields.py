"""Per-field coercion and checks shared by the parsers: one cell as text, its limits, the first problem."""

from __future__ import annotations

import json
from collections.abc import Iterable


def as_text(value: object) -> str:
    """A CSV cell or JSON value as text: ``None`` is empty, integral floats lose ``.0``, containers JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return json.dumps(value, ensure_ascii=False)


def check_field(value: str, name: str, limit: int, *, required: bool = True) -> str | None:
    """Reason the field is unacceptable, or None."""
    if required and not value.strip():
        return f"{name} is empty"
    if len(value) > limit:
        return f"{name} has {len(value)} characters (limit {limit})"
    if "\x00" in value:
        return f"{name} contains a NUL character"
    return None


def first_problem(checks: Iterable[str | None]) -> str | None:
    """The first non-empty reason among ``checks`` (a row reports one problem at a time), or None."""
    for problem in checks:
        if problem:
            return problem
    return None
