"""Keyed pseudonyms and participant codes.

Identifiers that could single a person out (Prolific ids, resume codes, export row ids) are stored or
published only as HMAC-SHA256 values under settings.PSEUDONYM_KEY, each with its own purpose prefix so a
value from one context never matches another.
"""

import hashlib
import hmac
import re
import secrets

from django.conf import settings

# No 0/O, 1/I/L or U: codes are read aloud, written down and typed back.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
RESUME_CODE_LENGTH = 10


def keyed_pseudonym(*, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under PSEUDONYM_KEY, domain-separated by `purpose` (hex, 64 characters)."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(settings.PSEUDONYM_KEY.encode(), message, hashlib.sha256).hexdigest()


def random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def resume_code_new() -> str:
    """A fresh resume code shown as two groups of five, e.g. 'KX7PM-3QRTA' (about 49 bits)."""
    return resume_code_display(random_code(RESUME_CODE_LENGTH))


def resume_code_display(code: str) -> str:
    code = resume_code_normalise(code)
    return f"{code[:5]}-{code[5:]}"


def resume_code_normalise(raw: str) -> str:
    """Accept what people type: any case, spaces or hyphens anywhere."""
    return re.sub(r"[^A-Z0-9]", "", raw.upper())[: RESUME_CODE_LENGTH * 2]


def resume_code_hash(code: str) -> str:
    return keyed_pseudonym(purpose="resume-code", value=resume_code_normalise(code))
