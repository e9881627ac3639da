"""Keyed pseudonyms for persona and annotator ids in an export.

The key is derived from settings.PSEUDONYM_KEY and the export configuration, so two differently configured
exports cannot be joined on rater ids, while re-freezing the same configuration reproduces the same
pseudonyms (and so the same content hash).
"""

from __future__ import annotations

import hashlib
import hmac


class Pseudonyms:
    """Keyed pseudonyms for one export: HMAC-SHA256 under a key derived from PSEUDONYM_KEY and a scope."""

    def __init__(self, *, key: str, scope: str) -> None:
        self._key = hmac.new(key.encode(), f"snapshot-export\x1f{scope}".encode(), hashlib.sha256).digest()

    def __call__(self, kind: str, value: object) -> str:
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{digest[:16]}"
