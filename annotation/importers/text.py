"""Text identity for deduplication (normalised form and fingerprint) and the form a text is stored in."""

from __future__ import annotations

import hashlib
import unicodedata


def normalize_text(text: str) -> str:
    """Deduplication key: NFKC, case-folded, all whitespace runs collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_fingerprint(text: str) -> str:
    """SHA-256 hex digest of :func:`normalize_text` (what dedupe compares; handy as a DB unique key)."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def clean_text(text: str) -> str:
    """Stored form: original wording, line endings normalised to ``\\n``, outer whitespace stripped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()
