"""Builders for evaluation tests: a question bank with one response set per model, test personas, clinicians,
and a local HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from annotation.importers import text_fingerprint
from annotation.models import CandidateResponse, JudgePersona, Question, QuestionBank, ResponseSet, Split
from core.roles import Role
from tests.factories import UserFactory


def make_bank(
    *, models: list[str], n_questions: int = 4, name: str = "Eval bank", tag_texts: bool = True
) -> tuple:
    """A bank of test questions and one ready response set per model (index 0 answers every question).

    With `tag_texts` each response starts with "[model]" (test judges read it); else texts name no model.
    """
    bank = QuestionBank.objects.create(name=name, source=QuestionBank.Source.TABLE)
    questions = [
        Question.objects.create(
            bank=bank,
            external_id=f"q{i}",
            text=f"Question {i}: I feel low and cannot sleep, what can I do? ({name})",
            text_sha256=text_fingerprint(f"Question {i} {name}"),
            split=Split.TEST,
            position=i,
        )
        for i in range(n_questions)
    ]
    sets = []
    for number, model in enumerate(models):
        response_set = ResponseSet.objects.create(
            bank=bank,
            name=f"{model} responses",
            origin=ResponseSet.Origin.IMPORTED,
            source=f"file:{model}.csv",
        )
        CandidateResponse.objects.bulk_create(
            CandidateResponse(
                response_set=response_set,
                question=question,
                external_id=f"{model}-{question.external_id}",
                index=0,
                text=(
                    f"[{model}] a reply to question {question.position}"
                    if tag_texts
                    else f"Reply variant {number} to question {question.position}: that sounds hard."
                ),
                text_sha256=text_fingerprint(f"{model} {question.position}"),
                origin="file",
            )
            for question in questions
        )
        sets.append(response_set)
    return bank, questions, sets


def make_personas(n: int, *, split: str = Split.TEST, prefix: str = "persona") -> list[JudgePersona]:
    return [
        JudgePersona.objects.create(
            text=f"You are {prefix} {i}, a patient who values warmth.",
            text_sha256=text_fingerprint(f"{prefix} {i}"),
            origin=JudgePersona.Origin.IMPORTED,
            source_id=f"{prefix}-{i}",
            split=split,
        )
        for i in range(n)
    ]


def make_clinicians(n: int) -> list:
    return [UserFactory(role=Role.CLINICIAN) for _ in range(n)]


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        }
    ).encode()


class ChatServer:
    """Answers POST /v1/chat/completions with ``responder(request json) -> assistant content``."""

    def __init__(self, responder: Callable[[dict], str]) -> None:
        self.responder = responder
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                with server.lock:
                    server.requests.append(payload)
                data = completion(server.responder(payload))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_url() -> str:
    """A chat-completions base URL on a local port nothing listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def shown_responses(payload: dict) -> tuple[str, str, str]:
    """(persona paragraph, text shown as Response A, text shown as Response B) from a pairwise prompt."""
    user = payload["messages"][1]["content"]
    persona = user.split("## Your persona\n", 1)[1].split("\n", 1)[0]
    first = user.split('<response label="A">\n', 1)[1].split("\n</response>", 1)[0]
    second = user.split('<response label="B">\n', 1)[1].split("\n</response>", 1)[0]
    return persona, first, second


def make_study(
    *,
    researcher,
    n_clinicians: int = 4,
    n_scenarios: int = 10,
    n_questions: int = 12,
    models: tuple[str, str] = ("trained", "base"),
    **options,
):
    """A clinician study of two response sets (model A = 'trained', B = 'base') with its clinicians."""
    from criteria.models import CriteriaSet
    from evaluation.services.studies import clinician_study_create

    _, _, (trained, base) = make_bank(
        models=list(models), n_questions=n_questions, name="Study bank", tag_texts=False
    )
    clinicians = make_clinicians(n_clinicians)
    arguments = {
        "name": "Trained vs base (researchers only)",
        "criteria_set": CriteriaSet.objects.get(key="therapeutic_eval", is_current=True),
        "response_set_a": trained,
        "response_set_b": base,
        "label_a": "TrainedLabel",
        "label_b": "BaseLabel",
        "clinicians": clinicians,
        "created_by": researcher,
        "n_scenarios": n_scenarios,
        "trained_model": "A",
        **options,
    }
    return clinician_study_create(**arguments), clinicians


def position_choice(model_choice: str, model_in_position_a: str) -> str:
    """The position-level answer that expresses a model-level preference for this display order."""
    if model_choice == "tie":
        return "tie"
    return "A" if model_choice == model_in_position_a else "B"
