"""Canonical JSON and the JSONL files written in it: the bytes the snapshot's content hash covers.

Sorted keys, no whitespace and UTF-8 make the same records always produce the same bytes, so a file's
sha256 depends on its content only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

# One encoder for every record: json.dumps with non-default options builds a new encoder per call, which
# cost more than the encoding itself for the export's small records. Same options, same bytes.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    return _ENCODER.encode(value)


class JsonlWriter:
    """Writes canonical JSON lines and hashes the bytes as they go."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("wb")
        self.digest = hashlib.sha256()
        self.lines = 0

    def write(self, record: dict[str, Any]) -> None:
        self.write_many((record,))

    def write_many(self, records: Iterable[dict[str, Any]]) -> None:
        """Append the records as lines, written and hashed as one block."""
        lines = [_ENCODER.encode(record) for record in records]
        if not lines:
            return
        data = ("\n".join(lines) + "\n").encode("utf-8")
        self.handle.write(data)
        self.digest.update(data)
        self.lines += len(lines)

    def write_lines(self, lines: pa.StringArray) -> None:
        """Append lines already in canonical form, each ending in a newline: their bytes as they lie in
        the Arrow array, written and hashed without a copy."""
        if not len(lines):
            return
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
        data = memoryview(data)[bounds[0] : bounds[-1]]
        self.handle.write(data)
        self.digest.update(data)
        self.lines += len(lines)

    def close(self) -> str:
        """Close the file; returns the sha256 of everything written."""
        self.handle.close()
        return self.digest.hexdigest()
