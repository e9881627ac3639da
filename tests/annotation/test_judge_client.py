"""Persona judge client against a real local HTTP server speaking the chat-completions protocol (no Django).

The server runs in a thread on 127.0.0.1 (random port) and answers from a per-test script of actions, so
every retry path (malformed JSON, invalid permutation, 429 with Retry-After, 5xx, timeouts) goes through
real sockets and real httpx.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from judges.client import JudgeClient, JudgeItem, RateLimiter, _parse_retry_after
from judges.endpoint import JudgeEndpoint
from judges.ranking import PROMPT_VERSION, RankingParseError, build_messages, parse_rankings

CRITERIA = [
    {
        "key": "empathy",
        "name": "Empathy",
        "question": "How well does the response understand what the person feels?",
        "better_when": "It names feelings warmly.",
        "worse_when": "It is cold or dismissive.",
    },
    {
        "key": "safety",
        "name": "Safety",
        "question": "Is the response safe?",
        "better_when": "It recognises risk.",
        "worse_when": "It gives harmful advice.",
    },
]
RESPONSES = ["Response A text", "Response B text", "Response C text"]
PERSONA = "You are roleplaying as a 34-year-old patient with anxiety who values empathy above all."
QUESTION = "I can't sleep because I keep worrying about work. What should I do?"
API_KEY = "sk-test-SECRET-123456"

VALID = {"rankings": {"empathy": [2, 1, 3], "safety": [1, 3, 2]}}


@dataclass
class Action:
    status: int = 200
    content: str | None = None  # assistant message content
    body: str | None = None  # raw body instead of a chat completion
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def _completion(content: str | None) -> str:
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "test-model",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }
    )


class ChatServer:
    """Scripted chat-completions server; records requests and the peak number of concurrent requests."""

    def __init__(self) -> None:
        self.script: list[Action] = []
        self.default = Action(content=json.dumps(VALID))
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": payload}
                    )
                    action = server.script.pop(0) if server.script else server.default
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                try:
                    if action.delay_s:
                        time.sleep(action.delay_s)
                    body = action.body if action.body is not None else _completion(action.content)
                    data = body.encode()
                    self.send_response(action.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in action.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)
                finally:
                    with server.lock:
                        server.active -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def push(self, *actions: Action) -> None:
        with self.lock:
            self.script.extend(actions)


@pytest.fixture
def server() -> Iterator[ChatServer]:
    chat = ChatServer()
    chat.thread.start()
    try:
        yield chat
    finally:
        chat.httpd.shutdown()
        chat.httpd.server_close()


def _client(server: ChatServer, **overrides) -> JudgeClient:
    options = {
        "base_url": server.base_url,
        "api_key": API_KEY,
        "model": "test-model",
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
    }
    options.update(overrides)
    return JudgeClient(JudgeEndpoint(**options), backoff_max_s=1.0, jitter=False)


def _judge(client: JudgeClient, **overrides):
    arguments = {"persona_text": PERSONA, "question": QUESTION, "responses": RESPONSES, "criteria": CRITERIA}
    arguments.update(overrides)
    return client.judge(**arguments)


# --- the happy path and the request ---------------------------------------------------------------


def test_valid_answer_is_parsed_and_settings_are_recorded(server):
    with _client(server, seed=7) as client:
        outcome = _judge(client, item_id="q1/persona3")
    assert outcome.ok, outcome.failure_reason
    assert outcome.orderings == {"empathy": (2, 1, 3), "safety": (1, 3, 2)}
    assert outcome.ranks == {"empathy": (2, 1, 3), "safety": (1, 3, 2)}  # rank of response 1, 2, 3
    assert outcome.attempts == 1 and outcome.failure_kind is None
    assert outcome.item_id == "q1/persona3"
    assert outcome.settings() == {
        "model": "test-model",
        "temperature": 0.0,
        "seed": 7,
        "prompt_version": PROMPT_VERSION,
        "prompt_template_sha256": outcome.prompt_template_sha256,
    }
    assert outcome.usage == {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    assert outcome.k == 3 and outcome.criteria_keys == ("empathy", "safety")

    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    body = request["json"]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.0
    assert body["seed"] == 7
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert PERSONA in user["content"] and QUESTION in user["content"]
    for number, text in enumerate(RESPONSES, start=1):
        assert f'<response number="{number}">\n{text}\n</response>' in user["content"]
    assert '"empathy"' in user["content"] and "It gives harmful advice." in user["content"]


def test_fenced_json_is_accepted(server):
    server.push(Action(content="```json\n" + json.dumps(VALID, indent=2) + "\n```"))
    with _client(server) as client:
        outcome = _judge(client)
    assert outcome.ok and outcome.attempts == 1


# --- answers that break the contract --------------------------------------------------------------


def test_malformed_json_is_retried_then_recorded_as_failed(server):
    server.default = Action(content="Sure! Here is my ranking: empathy 2, 1, 3")
    with _client(server, max_retries=2) as client:
        outcome = _judge(client)
    assert not outcome.ok
    assert outcome.failure_kind == "malformed_json"
    assert outcome.attempts == 3 and len(server.requests) == 3
    assert outcome.raw_text == "Sure! Here is my ranking: empathy 2, 1, 3"
    assert outcome.orderings is None and outcome.ranks is None
    assert [a.error_kind for a in outcome.attempt_log] == ["malformed_json"] * 3


def test_malformed_json_then_valid_succeeds_on_retry(server):
    server.push(Action(content='{"rankings": {"empathy": [2, 1, 3], '))
    with _client(server) as client:
        outcome = _judge(client)
    assert outcome.ok and outcome.attempts == 2
    assert outcome.attempt_log[0].error_kind == "malformed_json" and outcome.attempt_log[1].error_kind is None


def test_invalid_permutation_is_never_used(server):
    server.default = Action(content=json.dumps({"rankings": {"empathy": [1, 1, 3], "safety": [1, 2, 3]}}))
    with _client(server, max_retries=1) as client:
        outcome = _judge(client)
    assert not outcome.ok
    assert outcome.failure_kind == "invalid_permutation"
    assert "empathy" in outcome.failure_reason
    assert outcome.attempts == 2 and outcome.ranks is None


def test_missing_criterion_fails(server):
    server.default = Action(content=json.dumps({"rankings": {"empathy": [1, 2, 3]}}))
    with _client(server, max_retries=0) as client:
        outcome = _judge(client)
    assert (outcome.ok, outcome.failure_kind, outcome.attempts) == (False, "missing_criterion", 1)


def test_not_a_chat_completion_is_a_bad_response(server):
    server.default = Action(body="<html>gateway</html>")
    with _client(server, max_retries=1) as client:
        outcome = _judge(client)
    assert outcome.failure_kind == "bad_response" and outcome.attempts == 2
    assert outcome.raw_text == "<html>gateway</html>"


# --- transport-level failures ---------------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(server):
    server.push(Action(status=429, body='{"error": "rate limited"}', headers={"Retry-After": "0.3"}))
    with _client(server) as client:
        began = time.monotonic()
        outcome = _judge(client)
        waited = time.monotonic() - began
    assert outcome.ok and outcome.attempts == 2
    assert outcome.attempt_log[0].status_code == 429
    assert outcome.attempt_log[0].error_kind == "rate_limited"
    assert waited >= 0.3  # backoff_base_s is 0.01: only Retry-After explains the wait


def test_500_then_success(server):
    server.push(Action(status=500, body='{"error": "boom"}'), Action(status=503, body="unavailable"))
    with _client(server) as client:
        outcome = _judge(client)
    assert outcome.ok and outcome.attempts == 3
    assert [a.status_code for a in outcome.attempt_log] == [500, 503, 200]
    assert [a.error_kind for a in outcome.attempt_log] == ["server_error", "server_error", None]


def test_timeout_fails_after_all_retries(server):
    server.default = Action(content=json.dumps(VALID), delay_s=1.0)
    with _client(server, timeout_s=0.2, max_retries=1) as client:
        began = time.monotonic()
        outcome = _judge(client)
        elapsed = time.monotonic() - began
    assert not outcome.ok
    assert outcome.failure_kind == "timeout"
    assert outcome.attempts == 2 and len(server.requests) == 2
    assert elapsed < 1.5  # it did not wait for the slow server


def test_client_errors_are_not_retried(server):
    server.default = Action(status=401, body='{"error": "invalid api key"}')
    with _client(server, max_retries=3) as client:
        outcome = _judge(client)
    assert (outcome.ok, outcome.failure_kind, outcome.attempts) == (False, "http_error", 1)
    assert "HTTP 401" in outcome.failure_reason


def test_connection_refused_is_a_transport_error():
    with JudgeClient(
        JudgeEndpoint(base_url="http://127.0.0.1:9/v1", model="m", max_retries=1, backoff_base_s=0.01),
        jitter=False,
    ) as client:
        outcome = _judge(client)
    assert outcome.failure_kind in {"transport_error", "timeout"} and outcome.attempts == 2


def test_api_key_never_logged_or_exposed(server, caplog):
    server.push(Action(status=500, body="error"), Action(content="not json"))
    caplog.set_level(logging.DEBUG)
    with _client(server) as client:
        outcome = _judge(client)
        assert API_KEY not in repr(client)
    assert outcome.ok
    assert caplog.records, "expected retry warnings to be logged"
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(outcome)


# --- batches --------------------------------------------------------------------------------------


def test_judge_many_bounded_concurrency_order_and_callback(server):
    server.default = Action(content=json.dumps(VALID), delay_s=0.15)
    items = [
        JudgeItem(
            item_id=f"item-{i}",
            persona_text=PERSONA,
            question=QUESTION,
            responses=RESPONSES,
            criteria=CRITERIA,
        )
        for i in range(8)
    ]
    items.insert(3, JudgeItem(item_id="bad", persona_text=PERSONA, question=QUESTION, responses=["only one"],
                              criteria=CRITERIA))  # fmt: skip
    seen: list[tuple[str, bool, str]] = []

    def on_result(item, outcome):
        seen.append((item.item_id, outcome.ok, threading.current_thread().name))

    with _client(server, max_concurrency=3) as client:
        outcomes = client.judge_many(items, on_result=on_result)
    assert [o.item_id for o in outcomes] == [i.item_id for i in items]
    assert sum(o.ok for o in outcomes) == 8
    bad = outcomes[3]
    assert (bad.ok, bad.failure_kind, bad.attempts) == (False, "invalid_input", 0)
    assert len(seen) == 9
    assert {name for _, _, name in seen} == {threading.current_thread().name}
    assert 2 <= server.peak <= 3


def test_judge_many_rate_limit_spaces_requests(server):
    items = [
        JudgeItem(
            item_id=str(i), persona_text=PERSONA, question=QUESTION, responses=RESPONSES, criteria=CRITERIA
        )
        for i in range(5)
    ]
    with _client(server, max_concurrency=5, requests_per_minute=600) as client:  # one every 0.1 s
        began = time.monotonic()
        outcomes = client.judge_many(items)
        elapsed = time.monotonic() - began
    assert all(o.ok for o in outcomes)
    assert elapsed >= 0.4


def test_judge_many_callback_error_stops_the_batch(server):
    items = [
        JudgeItem(
            item_id=str(i), persona_text=PERSONA, question=QUESTION, responses=RESPONSES, criteria=CRITERIA
        )
        for i in range(50)
    ]

    def explode(item, outcome):
        raise RuntimeError("database is down")

    with _client(server, max_concurrency=2) as client, pytest.raises(RuntimeError, match="database is down"):
        client.judge_many(items, on_result=explode)
    assert len(server.requests) < 50


# --- prompt and parser units ----------------------------------------------------------------------


def test_parse_rankings_contract():
    keys = ["empathy", "safety"]
    ok = parse_rankings(json.dumps(VALID), criteria_keys=keys, k=3)
    assert ok.orderings["safety"] == (1, 3, 2) and ok.ranks["safety"] == (1, 3, 2)
    fenced = "  ```\n" + json.dumps(VALID) + "\n```  "
    assert parse_rankings(fenced, criteria_keys=keys, k=3) == ok
    as_strings = {"rankings": {"empathy": ["2", "1", "3"], "safety": [1, 3, 2], "extra": [9]}}
    assert parse_rankings(json.dumps(as_strings), criteria_keys=keys, k=3) == ok
    assert parse_rankings(json.dumps({"rankings": {"empathy": [3, 1, 2], "safety": [1, 2, 3]}}),
                          criteria_keys=keys, k=3).ranks["empathy"] == (2, 3, 1)  # fmt: skip
    bad_cases = {
        "": "malformed_json",
        "Here you go: " + json.dumps(VALID): "malformed_json",
        json.dumps(VALID) + "\nThanks!": "malformed_json",
        "```json\n" + json.dumps(VALID) + "\n``` extra": "malformed_json",
        "[1, 2, 3]": "invalid_schema",
        '{"ranking": {}}': "invalid_schema",
        '{"rankings": {"empathy": "2,1,3", "safety": [1, 2, 3]}}': "invalid_schema",
        '{"rankings": {"empathy": [true, 2, 3], "safety": [1, 2, 3]}}': "invalid_permutation",
        '{"rankings": {"empathy": [1, 2], "safety": [1, 2, 3]}}': "invalid_permutation",
        '{"rankings": {"empathy": [0, 1, 2], "safety": [1, 2, 3]}}': "invalid_permutation",
        '{"rankings": {"empathy": [1.0, 2, 3], "safety": [1, 2, 3]}}': "invalid_permutation",
        '{"rankings": {"safety": [1, 2, 3]}}': "missing_criterion",
    }
    for text, kind in bad_cases.items():
        with pytest.raises(RankingParseError) as caught:
            parse_rankings(text, criteria_keys=keys, k=3)
        assert caught.value.kind == kind, text


def test_build_messages_validates_criteria_and_inputs():
    with pytest.raises(ValueError, match="better_when"):
        build_messages(persona_text=PERSONA, question=QUESTION, responses=RESPONSES,
                       criteria=[{"key": "x", "name": "X", "question": "Q", "worse_when": "w"}])  # fmt: skip
    with pytest.raises(ValueError, match="slug"):
        build_messages(persona_text=PERSONA, question=QUESTION, responses=RESPONSES,
                       criteria=[{**CRITERIA[0], "key": "has space"}])  # fmt: skip
    with pytest.raises(ValueError, match="duplicate"):
        build_messages(
            persona_text=PERSONA, question=QUESTION, responses=RESPONSES, criteria=[CRITERIA[0]] * 2
        )
    with pytest.raises(ValueError, match="2 responses"):
        build_messages(persona_text=PERSONA, question=QUESTION, responses=["one"], criteria=CRITERIA)
    messages = build_messages(
        persona_text="Braces {ok} }{", question=QUESTION, responses=RESPONSES, criteria=CRITERIA
    )
    assert "Braces {ok} }{" in messages[1]["content"]
    assert '{"rankings": {"empathy": [...], "safety": [...]}}' in messages[1]["content"]


def test_retry_after_parsing():
    assert _parse_retry_after(httpx.Headers({"Retry-After": "2"})) == 2.0
    assert _parse_retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert _parse_retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert _parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert _parse_retry_after(httpx.Headers({})) is None


def test_rate_limiter_spacing():
    limiter = RateLimiter(1200)  # 0.05 s apart
    began = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert time.monotonic() - began >= 0.15
    assert RateLimiter(None).acquire() == 0.0
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_endpoint_validation_names_the_setting():
    with pytest.raises(ValueError, match="base_url must start with http"):
        JudgeEndpoint(base_url="localhost:8000", model="m")
    with pytest.raises(ValueError, match="model"):
        JudgeEndpoint(base_url="http://x", model=" ")
    with pytest.raises(ValueError, match="max_concurrency must be at least 1"):
        JudgeEndpoint(base_url="http://x", model="m", max_concurrency=0)
    with pytest.raises(ValueError, match="temperature must be between 0 and 2"):
        JudgeEndpoint(base_url="http://x", model="m", temperature=2.5)
    with pytest.raises(ValueError, match="timeout_s must be positive"):
        JudgeEndpoint(base_url="http://x", model="m", timeout_s=0)
    with pytest.raises(ValueError, match="max_retries must not be negative"):
        JudgeEndpoint(base_url="http://x", model="m", max_retries=-1)
    with pytest.raises(ValueError, match="requests_per_minute must be positive"):
        JudgeEndpoint(base_url="http://x", model="m", requests_per_minute=0)


def test_endpoint_never_shows_its_api_key():
    endpoint = JudgeEndpoint(base_url="http://x", model="m", api_key=API_KEY)
    assert API_KEY not in repr(endpoint)
    assert endpoint == JudgeEndpoint(base_url="http://x", model="m")
