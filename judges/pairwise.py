"""The pairwise persona-judge prompt (versioned), its strict parser and a client for it (no Django).

Contract with the model (PROMPT_VERSION ``persona-pairwise-v1``)
-----------------------------------------------------------------
The model role-plays a patient persona, reads the question and two responses labelled ``Response A`` and
``Response B`` and answers with exactly one JSON object::

    {"verdicts": {"<criterion_key>": "A" | "B" | "tie", ...}}

``"A"`` means Response A is better on that criterion, ``"B"`` Response B, ``"tie"`` neither. Every
criterion key of the prompt must be present; extra keys are ignored; values are case-insensitive
(``"a"``, ``"Tie"``). As for the ranking prompt (:mod:`judges.ranking`), the object may be bare
or inside one Markdown code fence; anything else is rejected.

Labels A and B are *display positions*: the caller decides which model is shown as Response A (and records
it); :func:`parse_verdicts` returns position-level verdicts ``"first"`` (Response A), ``"second"``
(Response B) or ``"tie"``, the vocabulary of :mod:`evaluation.stats.winrates`.

Any change to the wording or the format must bump :data:`PROMPT_VERSION`.

The client
----------
:class:`PairwiseJudgeClient` extends :class:`judges.client.JudgeClient` and reuses all of its transport
through :meth:`JudgeClient.exchange`: the HTTP call and its error classification, retry with backoff and
``Retry-After``, the rate limiter, and ``judge_many``'s bounded thread pool. Only the prompt and the parser
differ; tests/evaluation/test_pairwise_judge.py exercises it over real sockets.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from judges.client import AttemptFailure, AttemptRecord, JudgeClient, JudgeItem
from judges.errors import AnswerParseError
from judges.ranking import CriterionSpec, criteria_from_dicts

__all__ = [
    "PROMPT_TEMPLATE_SHA256",
    "PROMPT_VERSION",
    "PairwiseJudgeClient",
    "PairwiseOutcome",
    "VerdictParseError",
    "build_pairwise_messages",
    "parse_verdicts",
]


PROMPT_VERSION = "persona-pairwise-v1"

SYSTEM_TEMPLATE = """\
You are taking part in a research study about what people who seek mental-health support find helpful.
Fully adopt the persona described by the user: their background, experiences, preferences and attitudes.
Judge the responses as that person would, from their own point of view, not as an expert reviewer.
You must answer with a single JSON object exactly in the requested format and nothing else."""

USER_TEMPLATE = """\
## Your persona
{persona}

## The message you wrote when you reached out for help
<question>
{question}
</question>

## The two responses you received
<response label="A">
{response_a}
</response>

<response label="B">
{response_b}
</response>

## How to compare them
For each criterion below, say which response you would find better: "A", "B", or "tie" when neither is
better. The order in which the responses are shown means nothing.

{criteria}

## Answer format
Reply with one JSON object and nothing else, of this form:
{{"verdicts": {{{schema}}}}}
where each value is "A", "B" or "tie". Use exactly these criterion keys: {keys}."""

CRITERION_TEMPLATE = """- "{key}" ({name}): {question}
  A response is better when: {better_when}
  A response is worse when: {worse_when}"""

#: Fingerprint of the template text, recorded with PROMPT_VERSION (catches edits without a version bump).
PROMPT_TEMPLATE_SHA256 = hashlib.sha256(
    "\x1e".join([PROMPT_VERSION, SYSTEM_TEMPLATE, USER_TEMPLATE, CRITERION_TEMPLATE]).encode()
).hexdigest()

_LABEL_TO_VERDICT = {"a": "first", "b": "second", "tie": "tie"}
_FENCE_RE = re.compile(r"^```[ \t]*(?:json|JSON)?\s*(?P<body>.*?)\s*```$", re.DOTALL)
_MAX_RAW_CHARS = 20_000


def build_pairwise_messages(
    *,
    persona_text: str,
    question: str,
    response_a: str,
    response_b: str,
    criteria: Sequence[Mapping[str, object]] | Sequence[CriterionSpec],
) -> list[dict[str, str]]:
    """Chat messages (system + user) asking the persona to compare Response A with Response B."""
    specs = criteria_from_dicts(criteria)  # type: ignore[arg-type]
    if not persona_text.strip() or not question.strip():
        raise ValueError("persona_text and question must be non-empty")
    if not response_a.strip() or not response_b.strip():
        raise ValueError("both responses must be non-empty")
    user = USER_TEMPLATE.format(
        persona=persona_text.strip(),
        question=question.strip(),
        response_a=response_a.strip(),
        response_b=response_b.strip(),
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
        schema=", ".join(f'"{s.key}": "A" | "B" | "tie"' for s in specs),
        keys=", ".join(f'"{s.key}"' for s in specs),
    )
    return [{"role": "system", "content": SYSTEM_TEMPLATE}, {"role": "user", "content": user}]


class VerdictParseError(AnswerParseError):
    """A pairwise answer breaks the contract; ``kind`` is ``malformed_json``, ``invalid_schema``,
    ``missing_criterion`` or ``invalid_verdict``."""


def _json_body(text: str) -> str:
    stripped = text.strip()
    match = _FENCE_RE.match(stripped)
    return match.group("body").strip() if match else stripped


def parse_verdicts(text: str | None, *, criteria_keys: Sequence[str]) -> dict[str, str]:
    """Position-level verdicts {criterion: "first" | "second" | "tie"}, or :class:`VerdictParseError`."""
    if text is None or not text.strip():
        raise VerdictParseError("malformed_json", "empty answer")
    try:
        data = json.loads(_json_body(text))
    except json.JSONDecodeError as exc:
        raise VerdictParseError("malformed_json", f"not a JSON object: {exc.msg} at char {exc.pos}") from None
    if not isinstance(data, dict):
        raise VerdictParseError("invalid_schema", "top level is not a JSON object")
    verdicts = data.get("verdicts")
    if not isinstance(verdicts, dict):
        raise VerdictParseError("invalid_schema", 'missing "verdicts" object')
    missing = [key for key in criteria_keys if key not in verdicts]
    if missing:
        raise VerdictParseError("missing_criterion", f"missing criteria: {', '.join(missing)}")
    parsed: dict[str, str] = {}
    for key in criteria_keys:
        value = verdicts[key]
        verdict = _LABEL_TO_VERDICT.get(value.strip().lower()) if isinstance(value, str) else None
        if verdict is None:
            raise VerdictParseError("invalid_verdict", f'{key}: {value!r} is not "A", "B" or "tie"')
        parsed[key] = verdict
    return parsed


@dataclass(frozen=True)
class PairwiseOutcome:
    """Result of one pairwise judgement. ``ok=True``: ``verdicts`` (position-level); else a failure."""

    ok: bool
    item_id: str | None
    verdicts: dict[str, str] | None
    failure_kind: str | None
    failure_reason: str | None
    raw_text: str | None
    attempts: int
    attempt_log: tuple[AttemptRecord, ...]
    model: str
    temperature: float
    seed: int | None
    elapsed_s: float
    usage: dict[str, Any] | None = None
    started_at: str = ""
    prompt_version: str = PROMPT_VERSION
    prompt_template_sha256: str = PROMPT_TEMPLATE_SHA256

    def settings(self) -> dict[str, Any]:
        """The deterministic settings that produced this outcome (provenance)."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "seed": self.seed,
            "prompt_version": self.prompt_version,
            "prompt_template_sha256": self.prompt_template_sha256,
        }


class PairwiseJudgeClient(JudgeClient):
    """A :class:`JudgeClient` that asks for pairwise verdicts; items carry exactly two responses.

    ``judge_many`` is inherited: pass :class:`~judges.client.JudgeItem` objects whose ``responses`` are
    ``[text shown as Response A, text shown as Response B]``.
    """

    def judge(  # type: ignore[override]
        self,
        *,
        persona_text: str,
        question: str,
        responses: Sequence[str],
        criteria: Sequence[Mapping[str, object]] | Sequence[CriterionSpec],
        item_id: str | None = None,
    ) -> PairwiseOutcome:
        """Compare two responses on all criteria; never raises for remote failures or bad input."""
        started_at = datetime.now(UTC).isoformat()
        began = time.monotonic()
        try:
            if len(responses) != 2:
                raise ValueError(f"a pairwise judgement needs exactly 2 responses, got {len(responses)}")
            specs = criteria_from_dicts(criteria)  # type: ignore[arg-type]
            messages = build_pairwise_messages(
                persona_text=persona_text,
                question=question,
                response_a=responses[0],
                response_b=responses[1],
                criteria=specs,
            )
        except ValueError as exc:
            failure = AttemptFailure("invalid_input", str(exc), retryable=False)
            return self._pairwise_outcome(item_id, None, failure, None, [], began, started_at, None)
        keys = tuple(spec.key for spec in specs)
        exchange = self.exchange(
            messages,
            parse=lambda raw: parse_verdicts(raw, criteria_keys=keys),
            parse_errors=(VerdictParseError,),
            item_id=item_id,
        )
        return self._pairwise_outcome(
            item_id,
            exchange.parsed,
            exchange.failure,
            exchange.raw_text,
            exchange.log,
            exchange.began,
            exchange.started_at,
            exchange.usage,
        )

    def _judge_item(self, item: JudgeItem) -> PairwiseOutcome:  # type: ignore[override]
        return self.judge(
            persona_text=item.persona_text,
            question=item.question,
            responses=item.responses,
            criteria=item.criteria,
            item_id=item.item_id,
        )

    def _pairwise_outcome(
        self,
        item_id: str | None,
        verdicts: dict[str, str] | None,
        failure: AttemptFailure | None,
        raw_text: str | None,
        log: list[AttemptRecord],
        began: float,
        started_at: str,
        usage: dict[str, Any] | None,
    ) -> PairwiseOutcome:
        return PairwiseOutcome(
            ok=failure is None,
            item_id=item_id,
            verdicts=verdicts,
            failure_kind=None if failure is None else failure.kind,
            failure_reason=None if failure is None else failure.detail,
            raw_text=raw_text[:_MAX_RAW_CHARS] if raw_text else raw_text,
            attempts=len(log),
            attempt_log=tuple(log),
            model=self.model,
            temperature=self.temperature,
            seed=self.seed,
            elapsed_s=time.monotonic() - began,
            usage=usage,
            started_at=started_at,
        )
