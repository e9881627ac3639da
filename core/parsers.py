"""The JSON every API accepts: what PostgreSQL's jsonb and text columns can store, nested to a sane depth.

DRF's parser lets through what later fails as a server error: lists nested 100,000 deep (a RecursionError),
numbers beyond a float's range such as ``1e400`` (infinity, which jsonb refuses), NUL characters (refused
by jsonb and text columns) and lone surrogates such as ``"\\ud800"`` (not encodable as UTF-8). This parser
refuses them all with a 400 that names the field, before any view or serializer sees the data.
"""

import codecs
import json
import math
import re
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.settings import api_settings

MAX_DEPTH = 64
# NUL, and the UTF-16 surrogate range: a surrogate in a decoded str is always a lone one.
UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


class UnstorableJSON(ValueError):
    """Parsed JSON holding a value the database cannot store, at `path` (e.g. ``metrics.loss``)."""

    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        # The path is echoed in the 400, so a key that is itself unstorable is shown escaped.
        self.path = tuple(
            part.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
            if isinstance(part, str)
            else part
            for part in path
        )
        self.reason = reason
        where = ".".join(str(part) for part in self.path)
        super().__init__(f"{where}: {reason}" if where else reason)


def json_check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise UnstorableJSON for the first value nested deeper than `max_depth` or unfit for the database.

    Iterative, so checking a deep document cannot itself overflow the stack.
    """
    stack: list[tuple[tuple[str | int, ...], Any, int]] = [((), value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise UnstorableJSON(path, f"nested more than {max_depth} levels deep.")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and UNSTORABLE_CHARACTERS.search(key):
                    raise UnstorableJSON((*path, key), "a key holds a NUL character or a lone surrogate.")
                stack.append(((*path, key), child, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            raise UnstorableJSON(path, "not a finite number (NaN, Infinity, overflowing numbers).")
        elif isinstance(item, str) and UNSTORABLE_CHARACTERS.search(item):
            raise UnstorableJSON(path, "text holds a NUL character or a lone surrogate.")


def json_loads_checked(text: str | bytes) -> Any:
    """json.loads for untrusted input: ValueError (UnstorableJSON among them) for anything unfit to store."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise UnstorableJSON((), f"nested more than {MAX_DEPTH} levels deep.") from exc
    json_check(value)
    return value


class SafeJSONParser(JSONParser):
    """JSONParser plus the checks above; the default parser of every API."""

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF's get_encoding refuses bytes-to-bytes codecs, which would decompress past the size limit.
        encoding = get_encoding(parser_context or {})
        try:
            return json_loads_checked(codecs.getreader(encoding)(stream).read())
        except UnstorableJSON as exc:
            field = exc.path[0] if exc.path and isinstance(exc.path[0], str) else None
            message = f"JSON parse error - {exc}"
            errors = {field or api_settings.NON_FIELD_ERRORS_KEY: [message]}
            raise ParseError({"detail": message, **errors}) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
