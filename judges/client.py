"""HTTP client for persona judges behind any OpenAI-compatible chat-completions endpoint.

Works with OpenAI (``https://api.openai.com/v1``), vLLM (``http://host:8000/v1``) and Ollama
(``http://host:11434/v1``). Built from a :class:`~judges.endpoint.JudgeEndpoint`, it POSTs
``{base_url}/chat/completions`` with ``model``, ``messages``, ``temperature`` (0 by default, as in the study)
and optionally ``seed``, ``max_tokens`` and ``response_format={"type": "json_object"}`` (``json_mode``; turn
it off for servers that reject it).

Reliability rules
-----------------
* An attempt fails on: timeout, connection error, HTTP 408/429/5xx, a body that is not a chat completion,
  and an answer that breaks the prompt contract (malformed JSON, missing criterion, a ranking that is not a
  permutation of 1..K). Such failures are retried up to ``max_retries`` times (so at most
  ``1 + max_retries`` attempts) after an exponential backoff ``backoff_base_s * 2**(n-1)`` (capped at
  ``backoff_max_s``; with ``jitter`` a random 50-100 % of it), or longer when the server sends
  ``Retry-After`` / ``retry-after-ms``.
* Other HTTP 4xx answers (bad key, unknown model, bad request) fail at once: retrying cannot help.
* After the last attempt the outcome is ``ok=False`` with a reason, the last raw answer and the attempt log;
  failed outcomes carry no rankings, so they can never be used as preferences.
* Every outcome records the deterministic settings (model, temperature, seed, prompt version and template
  hash) so a preference can be traced to how it was produced.
* The API key is only ever placed in the ``Authorization`` header: it is never logged, never part of an
  outcome, reason or ``repr``.

``judge_many`` runs a batch on a bounded thread pool (``max_concurrency``; an ``httpx.Client`` may be shared
between threads) with a process-local rate limiter (``requests_per_minute``, applied to every attempt), and
calls ``on_result`` in the calling thread as each item finishes.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from judges.endpoint import JudgeEndpoint
from judges.errors import AnswerParseError
from judges.ranking import (
    PROMPT_TEMPLATE_SHA256,
    PROMPT_VERSION,
    CriterionSpec,
    RankingParseError,
    build_messages,
    criteria_from_dicts,
    parse_rankings,
)

__all__ = ["AttemptRecord", "JudgeClient", "JudgeItem", "JudgeOutcome", "RateLimiter"]

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_MAX_RAW_CHARS = 20_000


@dataclass(frozen=True)
class AttemptRecord:
    """One HTTP attempt: 1-based number, HTTP status (None without a response), error kind/detail, seconds."""

    attempt: int
    status_code: int | None
    error_kind: str | None
    detail: str | None
    elapsed_s: float


@dataclass(frozen=True)
class JudgeItem:
    """One judging task for :meth:`JudgeClient.judge_many`; ``item_id`` is echoed in the outcome."""

    item_id: str
    persona_text: str
    question: str
    responses: Sequence[str]
    criteria: Sequence[Mapping[str, object]]


@dataclass(frozen=True)
class JudgeOutcome:
    """Result of judging one item.

    ``ok=True``: ``orderings[criterion]`` lists response numbers (1-based) best to worst, as answered, and
    ``ranks[criterion][r]`` is the rank of response ``r`` (0-based index, 1 = best), the format of
    :mod:`annotation.aggregation`. ``ok=False``: ``failure_kind`` (``timeout``, ``transport_error``,
    ``rate_limited``, ``server_error``, ``http_error``, ``bad_response``, ``malformed_json``,
    ``invalid_schema``, ``missing_criterion``, ``invalid_permutation``, ``invalid_input``) and
    ``failure_reason``; rankings are ``None``.
    """

    ok: bool
    item_id: str | None
    orderings: dict[str, tuple[int, ...]] | None
    ranks: dict[str, tuple[int, ...]] | None
    failure_kind: str | None
    failure_reason: str | None
    raw_text: str | None
    attempts: int
    attempt_log: tuple[AttemptRecord, ...]
    model: str
    temperature: float
    seed: int | None
    prompt_version: str
    prompt_template_sha256: str
    k: int
    criteria_keys: tuple[str, ...]
    elapsed_s: float
    usage: dict[str, Any] | None = None
    started_at: str = ""

    def settings(self) -> dict[str, Any]:
        """The deterministic settings that produced this outcome (for dataset provenance)."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "seed": self.seed,
            "prompt_version": self.prompt_version,
            "prompt_template_sha256": self.prompt_template_sha256,
        }


class RateLimiter:
    """Thread-safe request spacing: at most ``requests_per_minute`` starts per minute, evenly spaced."""

    def __init__(
        self, requests_per_minute: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> float:
        """Block until the next request may start; returns the seconds waited."""
        if not self._interval:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        wait_s = start - now
        if wait_s > 0:
            time.sleep(wait_s)
        return wait_s


class AttemptFailure(Exception):
    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after_s: float | None = None,
        raw_text: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.raw_text = raw_text


def _parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (delta-seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class Exchange:
    """What one item's request/retry cycle produced: the parsed answer, or the last failure."""

    parsed: Any
    failure: AttemptFailure | None
    raw_text: str | None
    usage: dict[str, Any] | None
    log: list[AttemptRecord]
    began: float
    started_at: str


class JudgeClient:
    """Persona judge over an OpenAI-compatible ``/chat/completions`` endpoint (see module docstring)."""

    def __init__(
        self,
        endpoint: JudgeEndpoint,
        *,
        backoff_max_s: float = 60.0,
        jitter: bool = True,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = endpoint.base_url.rstrip("/")
        self.completions_url = f"{self.base_url}/chat/completions"
        self.model = endpoint.model
        self.temperature = float(endpoint.temperature)
        self.timeout_s = float(endpoint.timeout_s)
        self.max_retries = endpoint.max_retries
        self.backoff_base_s = float(endpoint.backoff_base_s)
        self.backoff_max_s = float(backoff_max_s)
        self.jitter = jitter
        self.max_concurrency = endpoint.max_concurrency
        self.seed = endpoint.seed
        self.max_tokens = endpoint.max_tokens
        self.json_mode = endpoint.json_mode
        self._rate_limiter = RateLimiter(endpoint.requests_per_minute)
        self._random = random.Random()  # jitter only; not security-sensitive
        headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s),
            headers=headers,
            limits=httpx.Limits(
                max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency
            ),
        )

    def __repr__(self) -> str:  # never shows the key
        return (
            f"JudgeClient(base_url={self.base_url!r}, model={self.model!r}, temperature={self.temperature})"
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JudgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -----------------------------------------------------------------------------------------------------

    def judge(
        self,
        *,
        persona_text: str,
        question: str,
        responses: Sequence[str],
        criteria: Sequence[Mapping[str, object]] | Sequence[CriterionSpec],
        item_id: str | None = None,
    ) -> JudgeOutcome:
        """Ask the persona to rank ``responses`` on all ``criteria``; never raises for remote failures.

        Invalid input (fewer than 2 responses, malformed criteria, empty persona/question) raises
        ``ValueError`` before any request is made.
        """
        specs = criteria_from_dicts(criteria)  # type: ignore[arg-type]
        messages = build_messages(
            persona_text=persona_text, question=question, responses=responses, criteria=specs
        )
        keys = tuple(spec.key for spec in specs)
        k = len(responses)
        exchange = self.exchange(
            messages,
            parse=lambda raw: parse_rankings(raw, criteria_keys=keys, k=k),
            parse_errors=(RankingParseError,),
            item_id=item_id,
        )
        parsed = exchange.parsed
        return self._outcome(
            ok=exchange.failure is None,
            item_id=item_id,
            orderings=parsed.orderings if parsed is not None else None,
            ranks=parsed.ranks if parsed is not None else None,
            failure=exchange.failure,
            raw_text=exchange.raw_text,
            log=exchange.log,
            k=k,
            keys=keys,
            began=exchange.began,
            started_at=exchange.started_at,
            usage=exchange.usage,
        )

    def exchange(
        self,
        messages: list[dict[str, str]],
        *,
        parse: Callable[[str | None], Any],
        parse_errors: tuple[type[AnswerParseError], ...],
        item_id: str | None = None,
    ) -> Exchange:
        """Send one chat request and parse its answer, retrying with backoff; never raises for remote faults.

        This is the request/retry cycle every judge format shares (rankings here, pairwise verdicts in the
        evaluation app): `parse` turns the answer text into the format's result and raises one of
        `parse_errors` (each with a `kind`) when the answer is unusable, which counts as a retryable failure.
        """
        payload: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if self.seed is not None:
            payload["seed"] = self.seed
        if self.max_tokens is not None:
            payload["max_tokens"] = self.max_tokens
        if self.json_mode:
            payload["response_format"] = {"type": "json_object"}

        started_at = datetime.now(UTC).isoformat()
        began = time.monotonic()
        log: list[AttemptRecord] = []
        last_failure: AttemptFailure | None = None
        last_raw: str | None = None
        total_attempts = 1 + self.max_retries
        for attempt in range(1, total_attempts + 1):
            self._rate_limiter.acquire()
            attempt_began = time.monotonic()
            status: int | None = None
            try:
                raw, usage, status = self._attempt(payload)
                last_raw = raw
                parsed = parse(raw)
            except AttemptFailure as failure:
                last_failure = failure
                if failure.raw_text is not None:
                    last_raw = failure.raw_text
            except parse_errors as exc:
                last_failure = AttemptFailure(exc.kind, str(exc), status=status, raw_text=last_raw)
            else:
                log.append(AttemptRecord(attempt, status, None, None, time.monotonic() - attempt_began))
                return Exchange(parsed, None, raw, usage, log, began, started_at)
            log.append(
                AttemptRecord(
                    attempt,
                    last_failure.status,
                    last_failure.kind,
                    last_failure.detail[:500],
                    time.monotonic() - attempt_began,
                )
            )
            logger.warning(
                "judge attempt %d/%d failed (%s) model=%s endpoint=%s item=%s",
                attempt,
                total_attempts,
                last_failure.kind,
                self.model,
                self.completions_url,
                item_id,
            )
            if not last_failure.retryable or attempt == total_attempts:
                break
            time.sleep(self._backoff(attempt, last_failure.retry_after_s))
        assert last_failure is not None
        return Exchange(None, last_failure, last_raw, None, log, began, started_at)

    def judge_many(
        self,
        items: Iterable[JudgeItem],
        *,
        on_result: Callable[[JudgeItem, JudgeOutcome], None] | None = None,
    ) -> list[JudgeOutcome]:
        """Judge many items with at most ``max_concurrency`` requests in flight; outcomes in input order.

        ``on_result(item, outcome)`` runs in the calling thread as soon as each item finishes (completion
        order), so it may safely write to a database. If it raises, no new items start, running ones finish,
        and the exception propagates. An item with invalid input yields a failed outcome
        (``failure_kind="invalid_input"``) instead of stopping the batch.
        """
        outcomes: dict[int, JudgeOutcome] = {}
        iterator = iter(enumerate(items))
        in_flight: dict[Future[JudgeOutcome], tuple[int, JudgeItem]] = {}
        window = self.max_concurrency * 2
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="judge") as pool:
            exhausted = False
            try:
                while True:
                    while not exhausted and len(in_flight) < window:
                        try:
                            index, item = next(iterator)
                        except StopIteration:
                            exhausted = True
                            break
                        in_flight[pool.submit(self._judge_item, item)] = (index, item)
                    if not in_flight:
                        break
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        index, item = in_flight.pop(future)
                        outcome = future.result()
                        outcomes[index] = outcome
                        if on_result is not None:
                            on_result(item, outcome)
            except BaseException:
                for future in in_flight:
                    future.cancel()
                raise
        return [outcomes[i] for i in sorted(outcomes)]

    # -----------------------------------------------------------------------------------------------------

    def _judge_item(self, item: JudgeItem) -> JudgeOutcome:
        try:
            return self.judge(
                persona_text=item.persona_text,
                question=item.question,
                responses=item.responses,
                criteria=item.criteria,
                item_id=item.item_id,
            )
        except ValueError as exc:
            return self._outcome(
                ok=False,
                item_id=item.item_id,
                orderings=None,
                ranks=None,
                failure=AttemptFailure("invalid_input", str(exc), retryable=False),
                raw_text=None,
                log=[],
                k=len(item.responses),
                keys=tuple(str(c.get("key", "")) if isinstance(c, Mapping) else "" for c in item.criteria),
                began=time.monotonic(),
                started_at=datetime.now(UTC).isoformat(),
                usage=None,
            )

    def _attempt(self, payload: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None, int]:
        try:
            response = self._http.post(self.completions_url, json=payload)
        except httpx.TimeoutException as exc:
            raise AttemptFailure("timeout", f"{type(exc).__name__} after {self.timeout_s:g}s") from None
        except httpx.TransportError as exc:
            raise AttemptFailure("transport_error", f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status != 200:
            body = response.text[:500]
            if status == 429:
                raise AttemptFailure(
                    "rate_limited",
                    f"HTTP 429: {body}",
                    status=status,
                    retry_after_s=_parse_retry_after(response.headers),
                )
            if status in _RETRYABLE_STATUS:
                kind = "server_error" if status >= 500 else "http_error"
                raise AttemptFailure(
                    kind,
                    f"HTTP {status}: {body}",
                    status=status,
                    retry_after_s=_parse_retry_after(response.headers),
                )
            raise AttemptFailure("http_error", f"HTTP {status}: {body}", status=status, retryable=False)
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise AttemptFailure(
                "bad_response",
                "response is not a chat completion",
                status=status,
                raw_text=response.text[:_MAX_RAW_CHARS],
            ) from None
        if content is not None and not isinstance(content, str):
            raise AttemptFailure("bad_response", "message content is not text", status=status)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        return (content[:_MAX_RAW_CHARS] if content else content), usage, status

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        delay = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        if self.jitter:
            delay *= 0.5 + 0.5 * self._random.random()
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.backoff_max_s))
        return delay

    def _outcome(
        self,
        *,
        ok: bool,
        item_id: str | None,
        orderings: dict[str, tuple[int, ...]] | None,
        ranks: dict[str, tuple[int, ...]] | None,
        failure: AttemptFailure | None,
        raw_text: str | None,
        log: list[AttemptRecord],
        k: int,
        keys: tuple[str, ...],
        began: float,
        started_at: str,
        usage: dict[str, Any] | None,
    ) -> JudgeOutcome:
        return JudgeOutcome(
            ok=ok,
            item_id=item_id,
            orderings=orderings,
            ranks=ranks,
            failure_kind=None if failure is None else failure.kind,
            failure_reason=None if failure is None else failure.detail,
            raw_text=raw_text,
            attempts=len(log),
            attempt_log=tuple(log),
            model=self.model,
            temperature=self.temperature,
            seed=self.seed,
            prompt_version=PROMPT_VERSION,
            prompt_template_sha256=PROMPT_TEMPLATE_SHA256,
            k=k,
            criteria_keys=keys,
            elapsed_s=time.monotonic() - began,
            usage=usage,
            started_at=started_at,
        )
