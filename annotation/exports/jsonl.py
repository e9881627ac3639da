"""Canonical JSON and the JSONL files written in it: the bytes the snapshot's content hash covers.

Sorted keys, no whitespace and UTF-8 make the same records always produce the same bytes, so a file's
sha256 depends on its content only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class JsonlWriter:
    """Writes canonical JSON lines and hashes the bytes as they go."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("wb")
        self.digest = hashlib.sha256()
        self.lines = 0

    def write(self, record: dict[str, Any]) -> None:
        data = (canonical_json(record) + "\n").encode("utf-8")
        self.handle.write(data)
        self.digest.update(data)
        self.lines += 1

    def close(self) -> str:
        """Close the file; returns the sha256 of everything written."""
        self.handle.close()
        return self.digest.hexdigest()
