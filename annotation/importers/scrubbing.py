"""Scrubbing of Counsel Chat answers: links and e-mail addresses, and the answering therapist's name."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_DOMAIN_RE = re.compile(
    r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|info|io|us|co|ca|uk|biz|me)\b"
    r"(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)
# Credential and title tokens that appear in therapist URL slugs (not parts of a name).
# fmt: off
_CREDENTIALS = frozenset((
    "acsw", "aamft", "atr", "bcd", "bc", "cadc", "caps", "casac", "ccc", "ccmhc", "cht", "clc", "clt",
    "cmhc", "cpc", "csat", "dbh", "dcc", "dcsw", "edd", "jd", "lac", "ladc", "lcadc", "lcasa",
    "lcat", "lcmhc", "lcpc", "lcsw", "lcswr", "lcswc", "licsw", "limhp", "lisw", "lmac", "lmft", "lmhc",
    "lmhca", "lmhp", "lmsw", "lpa", "lpc", "lpca", "lpcc", "lpcmh", "lpcs", "lpe", "lsw", "ma", "mac",
    "med", "mdiv", "mft", "mfti", "mfc", "mph", "ms", "msw", "ncc", "nccc", "otr", "phd", "pllc", "psy",
    "psyd", "rcswi", "rn", "rpc", "rpt", "llc", "inc", "pc", "pa", "dr",
))
# fmt: on
_NAME_SEPARATOR = r"[\s.,'\u2019-]*"
# A name starts at a word boundary or where a signature is glued to the previous word ("wellRobin").
_WORD_START = r"(?:\b|(?-i:(?<=[a-z])(?=[A-Z])))"


@dataclass(frozen=True)
class _TherapistName:
    """How to find one therapist's name in their own answers (derived from the URL slug and info line)."""

    full: re.Pattern[str] | None  # 2+ consecutive name words, or an organisation's full name
    surname: str | None  # capitalised surname, scrubbed anywhere
    first_name: str | None  # capitalised first name, scrubbed only in the signature zone


_SIGNATURE_ZONE = 160  # characters at the end of an answer where a bare first name is treated as a signature


def _therapist_name(therapist_info: str, therapist_url: str) -> _TherapistName:
    """Name patterns from the therapist's URL slug (minus credentials) and the head of their info line."""
    slug = therapist_url.rstrip("/").rsplit("/", 1)[-1].lower() if therapist_url else ""
    slug_tokens = [t for t in slug.split("-") if t and not t.isdigit()]
    person = [t for t in slug_tokens if t not in _CREDENTIALS and len(t) >= 2]
    if len(person) > 4:
        # An organisation, not a person: scrub only its full name as it appears in the slug.
        return _TherapistName(
            re.compile(_NAME_SEPARATOR.join(map(re.escape, slug_tokens)), re.IGNORECASE), None, None
        )
    info_head = re.sub(r"^dr\.?\s+", "", therapist_info.split(",", 1)[0].strip(), flags=re.IGNORECASE)
    info_words = [w.rstrip(".") for w in info_head.split()]
    words = set(person)
    if 2 <= len(info_words) <= 3 and all(re.fullmatch(r"[^\W\d_][\w'\u2019-]*", w) for w in info_words):
        words.update(w.lower() for w in info_words if len(w) >= 2)
    full = None
    if len(words) >= 2:
        name_word = "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"
        initial = r"(?:[^\W\d_]\.)"
        full = re.compile(
            rf"(?:\bdr\.?\s*)?{_WORD_START}{name_word}(?:{_NAME_SEPARATOR}(?:{name_word}|{initial}))*"
            rf"{_NAME_SEPARATOR}{name_word}",
            re.IGNORECASE,
        )
    long_person = [t for t in person if len(t) >= 3]
    surname = long_person[-1].capitalize() if len(long_person) >= 2 and len(long_person[-1]) >= 4 else None
    first_name = long_person[0].capitalize() if long_person else None
    return _TherapistName(full, surname, first_name)


# A capitalised word glued to the end of a URL ("...ovc-20197416Recently", "www.help.com.Be") is the start of
# the next sentence, not part of the link: it is given back to the text.
_GLUED_WORD = re.compile(r"(?<=[a-z0-9/-])\.?[A-Z][a-z]+[.,;:!?]*$")


def _replace_link(match: re.Match[str]) -> str:
    """``[link]``, giving back a capitalised word glued to the end of the URL."""
    url = match.group(0)
    tail = _GLUED_WORD.search(url)
    if tail is not None and "." in url[: tail.start()].split("//", 1)[-1]:
        return "[link] " + url[tail.start() :].lstrip(".")
    return "[link]"


def scrub_links(text: str) -> str:
    """Replace e-mail addresses, URLs and bare web domains by ``[email]`` / ``[link]``."""
    text = _EMAIL_RE.sub("[email]", text)
    text = _URL_RE.sub(_replace_link, text)
    return _DOMAIN_RE.sub(_replace_link, text)


def scrub_answer(text: str, therapist_info: str, therapist_url: str) -> str:
    """Links/e-mails -> placeholders; the author's name (full, surname, signed first name) -> [therapist]."""
    text = scrub_links(text)
    name = _therapist_name(therapist_info, therapist_url)
    if name.full is not None:
        text = name.full.sub("[therapist]", text)
    if name.surname:
        text = re.sub(rf"(?<![A-Z]){re.escape(name.surname)}(?![a-z])", "[therapist]", text)
    if name.first_name:
        cut = max(0, len(text) - _SIGNATURE_ZONE)
        tail = re.sub(rf"(?<![A-Za-z]){re.escape(name.first_name)}(?![a-z])", "[therapist]", text[cut:])
        text = text[:cut] + tail
        text = re.sub(
            rf"\b((?:I'm|I am|my name is|this is)\s+){re.escape(name.first_name)}(?![a-z])",
            r"\1[therapist]",
            text,
            flags=re.IGNORECASE,
        )
    return text
