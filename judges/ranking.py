"""The persona-judge prompt (versioned) and the strict parser for its JSON answer.

Contract with the model (PROMPT_VERSION ``persona-rank-v1``)
------------------------------------------------------------
The model role-plays a patient persona, reads the question and K responses labelled ``Response 1`` ..
``Response K`` and answers with exactly one JSON object::

    {"rankings": {"<criterion_key>": [<response numbers, best first>], ...}}

Each list is an **ordering**: the K response numbers (1-based, as labelled), each exactly once, from best to
worst; every criterion key given in the prompt must be present. The parser accepts that object either bare
or inside one Markdown code fence (```json ... ``` or ``` ... ```), with surrounding whitespace; anything
else (prose before/after, several objects, trailing commas) is rejected. Extra criterion keys are ignored.
Response numbers may be JSON integers or strings of digits (``"3"``); nothing else.

Any change to the wording or the format must bump :data:`PROMPT_VERSION`, which is recorded with every
judgement so preference datasets can be traced to the exact prompt.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from judges.errors import AnswerParseError

__all__ = [
    "PROMPT_TEMPLATE_SHA256",
    "PROMPT_VERSION",
    "CriterionSpec",
    "ParsedRankings",
    "RankingParseError",
    "build_messages",
    "criteria_from_dicts",
    "ordering_to_ranks",
    "parse_rankings",
]

PROMPT_VERSION = "persona-rank-v1"

SYSTEM_TEMPLATE = """\
You are taking part in a research study about what people who seek mental-health support find helpful.
Fully adopt the persona described by the user: their background, experiences, preferences and attitudes.
Judge every response as that person would, from their own point of view, not as an expert reviewer.
You must answer with a single JSON object exactly in the requested format and nothing else."""

USER_TEMPLATE = """\
## Your persona
{persona}

## The message you wrote when you reached out for help
<question>
{question}
</question>

## The {k} responses you received
{responses}

## How to rank them
Rank all {k} responses separately for each criterion below, from the one you would find best (first) to the
one you would find worst (last). Use the response numbers 1 to {k}; every number must appear exactly once in
each ranking; no ties.

{criteria}

## Answer format
Reply with one JSON object and nothing else, of this form:
{{"rankings": {{{schema}}}}}
where each list contains the response numbers 1 to {k} ordered from best to worst for that criterion.
Use exactly these criterion keys: {keys}."""

RESPONSE_TEMPLATE = """<response number="{number}">
{text}
</response>"""

CRITERION_TEMPLATE = """- "{key}" ({name}): {question}
  Rank a response higher when: {better_when}
  Rank a response lower when: {worse_when}"""

#: Fingerprint of the template text, recorded alongside PROMPT_VERSION (catches edits without a version bump).
PROMPT_TEMPLATE_SHA256 = hashlib.sha256(
    "\x1e".join(
        [PROMPT_VERSION, SYSTEM_TEMPLATE, USER_TEMPLATE, RESPONSE_TEMPLATE, CRITERION_TEMPLATE]
    ).encode()
).hexdigest()

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_FENCE_RE = re.compile(r"^```[ \t]*(?:json|JSON)?\s*(?P<body>.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True)
class CriterionSpec:
    """One criterion as shown to the judge."""

    key: str
    name: str
    question: str
    better_when: str
    worse_when: str


def criteria_from_dicts(criteria: Sequence[Mapping[str, object]]) -> tuple[CriterionSpec, ...]:
    """Validate criterion dicts (keys: key, name, question, better_when, worse_when) into specs.

    Raises ``ValueError`` for a missing/empty field, a key that is not a slug, or duplicate keys.
    """
    if not criteria:
        raise ValueError("at least one criterion is required")
    specs: list[CriterionSpec] = []
    for index, item in enumerate(criteria):
        if isinstance(item, CriterionSpec):
            specs.append(item)
            continue
        values: dict[str, str] = {}
        for name in ("key", "name", "question", "better_when", "worse_when"):
            value = item.get(name) if isinstance(item, Mapping) else None
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"criterion #{index + 1}: {name!r} must be a non-empty string")
            values[name] = value.strip()
        if not _KEY_RE.match(values["key"]):
            raise ValueError(
                f"criterion #{index + 1}: key {values['key']!r} must be a slug (letters, digits, _ or -)"
            )
        specs.append(CriterionSpec(**values))
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate criterion keys: {keys}")
    return tuple(specs)


def build_messages(
    *,
    persona_text: str,
    question: str,
    responses: Sequence[str],
    criteria: Sequence[Mapping[str, object]] | Sequence[CriterionSpec],
) -> list[dict[str, str]]:
    """Chat messages (system + user) asking the persona to rank ``responses`` on every criterion at once."""
    specs = criteria_from_dicts(criteria)  # type: ignore[arg-type]
    if len(responses) < 2:
        raise ValueError("at least 2 responses are needed to rank")
    if not persona_text.strip() or not question.strip():
        raise ValueError("persona_text and question must be non-empty")
    k = len(responses)
    user = USER_TEMPLATE.format(
        persona=persona_text.strip(),
        question=question.strip(),
        k=k,
        responses="\n\n".join(
            RESPONSE_TEMPLATE.format(number=i + 1, text=text.strip()) for i, text in enumerate(responses)
        ),
        criteria="\n".join(
            CRITERION_TEMPLATE.format(
                key=s.key,
                name=s.name,
                question=s.question,
                better_when=s.better_when,
                worse_when=s.worse_when,
            )
            for s in specs
        ),
        schema=", ".join(f'"{s.key}": [...]' for s in specs),
        keys=", ".join(f'"{s.key}"' for s in specs),
    )
    return [{"role": "system", "content": SYSTEM_TEMPLATE}, {"role": "user", "content": user}]


class RankingParseError(AnswerParseError):
    """A ranking answer breaks the contract; ``kind`` is ``malformed_json``, ``invalid_schema``,
    ``missing_criterion`` or ``invalid_permutation``."""


@dataclass(frozen=True)
class ParsedRankings:
    """Valid answer: per criterion, the ordering (best first) and the equivalent rank vector."""

    orderings: dict[str, tuple[int, ...]]
    ranks: dict[str, tuple[int, ...]]


def ordering_to_ranks(ordering: Sequence[int]) -> tuple[int, ...]:
    """``[3, 1, 2]`` (response 3 best) -> ranks per response ``(2, 3, 1)``. Assumes a valid permutation."""
    ranks = [0] * len(ordering)
    for position, number in enumerate(ordering):
        ranks[number - 1] = position + 1
    return tuple(ranks)


def _extract_json_text(text: str) -> str:
    stripped = text.strip()
    match = _FENCE_RE.match(stripped)
    if match:
        return match.group("body").strip()
    return stripped


def _as_response_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_rankings(text: str | None, *, criteria_keys: Sequence[str], k: int) -> ParsedRankings:
    """Parse and validate a judge answer against the contract; raise :class:`RankingParseError` otherwise."""
    if text is None or not text.strip():
        raise RankingParseError("malformed_json", "empty answer")
    body = _extract_json_text(text)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise RankingParseError("malformed_json", f"not a JSON object: {exc.msg} at char {exc.pos}") from None
    if not isinstance(data, dict):
        raise RankingParseError("invalid_schema", "top level is not a JSON object")
    rankings = data.get("rankings")
    if not isinstance(rankings, dict):
        raise RankingParseError("invalid_schema", 'missing "rankings" object')
    missing = [key for key in criteria_keys if key not in rankings]
    if missing:
        raise RankingParseError("missing_criterion", f"missing criteria: {', '.join(missing)}")
    orderings: dict[str, tuple[int, ...]] = {}
    ranks: dict[str, tuple[int, ...]] = {}
    expected = list(range(1, k + 1))
    for key in criteria_keys:
        value = rankings[key]
        if not isinstance(value, list):
            raise RankingParseError("invalid_schema", f"{key}: ranking is not a list")
        numbers = [_as_response_number(v) for v in value]
        if any(n is None for n in numbers):
            raise RankingParseError(
                "invalid_permutation", f"{key}: entries must be response numbers, got {value!r}"
            )
        if sorted(numbers) != expected:  # type: ignore[type-var]
            raise RankingParseError("invalid_permutation", f"{key}: {value!r} is not a permutation of 1..{k}")
        ordering = tuple(int(n) for n in numbers)  # type: ignore[arg-type]
        orderings[key] = ordering
        ranks[key] = ordering_to_ranks(ordering)
    return ParsedRankings(orderings=orderings, ranks=ranks)
