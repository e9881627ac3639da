"""Number formatting for statistics pages: undefined values (null) show as a dash."""

from django import template

register = template.Library()

DASH = "\u2013"


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.643 -> "64.3%"."""
    if value is None or value == "":
        return DASH
    return f"{100 * float(value):.{int(digits)}f}%"


@register.filter
def stat(value, digits: int = 3) -> str:
    """A coefficient or p-value with `digits` significant digits."""
    if value is None or value == "":
        return DASH
    return f"{float(value):.{int(digits)}g}"


@register.filter
def get(mapping, key):
    """mapping[key] in a template (None when absent)."""
    return mapping.get(key) if mapping else None
