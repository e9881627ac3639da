"""Persona judge jobs end to end against a local chat-completions server: valid answers, malformed JSON,
invalid permutations, garbage bodies, 429 and 500 then success, timeouts; failures are recorded (never used),
the API key is never stored, and a relaunched job skips what is already judged."""

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from annotation.forms import JudgeJobForm
from annotation.models import JudgeJob, Judgement
from annotation.selectors.judging import judge_jobs_list
from annotation.selectors.rankings import judge_rankings, preference_pairs
from annotation.services import judging
from annotation.services.judging import judge_job_create, judge_job_launch
from core.models import AuditEvent, Job, Status
from core.services import job_run
from judges.endpoint import JudgeEndpoint
from tests.preference_data import personas_named, stored_judge_job

pytestmark = pytest.mark.django_db

API_KEY = "sk-test-never-store-me-4242"
PERSONAS = ["valid", "malformed", "badperm", "garbage", "ratelimit", "flaky", "timeout"]
PERSONA_RE = re.compile(r"Persona (\w+):")
QUESTION_RE = re.compile(r"<question>\n(.*?)\n</question>", re.DOTALL)
VALID = {"rankings": {"empathy": [1, 2, 3, 4, 5], "safety": [5, 4, 3, 2, 1]}}


class ChatServer:
    """A chat-completions endpoint whose behaviour depends on the persona in the prompt."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.authorization: set[str] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][1]["content"]
                persona = PERSONA_RE.search(prompt).group(1)
                question = QUESTION_RE.search(prompt).group(1)
                with server.lock:
                    server.requests.append((persona, question))
                    server.authorization.add(self.headers.get("Authorization", ""))
                    seen = Counter(server.requests)[(persona, question)]
                if persona == "timeout":
                    time.sleep(1.0)
                    return self.reply(200, VALID)
                if persona == "ratelimit" and seen == 1:
                    return self.reply(429, {"error": "slow down"}, headers={"Retry-After": "0"})
                if persona == "flaky" and seen == 1:
                    return self.reply(500, {"error": "boom"})
                if persona == "garbage":
                    return self.raw(200, b"<html>gateway</html>", "text/html")
                content = {
                    "malformed": '{"rankings": {"empathy": [1, 2, 3',
                    "badperm": json.dumps(
                        {"rankings": {"empathy": [1, 1, 2, 3, 4], "safety": [1, 2, 3, 4, 5]}}
                    ),
                }.get(persona, json.dumps(VALID))
                return self.reply(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})

            def reply(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self.raw(status, json.dumps(payload).encode(), "application/json", headers)

            def raw(self, status: int, data: bytes, content_type: str, headers: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server():
    with ChatServer() as server:
        yield server


@pytest.fixture
def judge_personas(db):
    return personas_named(*PERSONAS)


def create_job(*, response_set, mini_criteria, personas, researcher, server, capture):
    with capture(execute=False):
        return judge_job_create(
            name="Test judges",
            response_set=response_set,
            criteria_set=mini_criteria,
            personas=personas,
            created_by=researcher,
            endpoint=JudgeEndpoint(
                base_url=server.url,
                model="test-model",
                temperature=0.0,
                seed=7,
                timeout_s=0.4,
                max_retries=1,
                backoff_base_s=0.01,
                max_concurrency=4,
            ),
        )


def test_judge_job_records_valid_rankings_and_every_kind_of_failure(
    settings,
    caplog,
    chat_server,
    response_set,
    mini_criteria,
    judge_personas,
    researcher,
    django_capture_on_commit_callbacks,
):
    settings.JUDGE_API_KEY = API_KEY
    judge_job = create_job(
        response_set=response_set,
        mini_criteria=mini_criteria,
        personas=judge_personas,
        researcher=researcher,
        server=chat_server,
        capture=django_capture_on_commit_callbacks,
    )
    job_run(job_id=judge_job.job.pk)

    job = Job.objects.get(pk=judge_job.job.pk)
    # 16 of 28 answers failed, far above JUDGE_FAILURE_THRESHOLD: the job failed, and says so with counts.
    assert job.status == Status.FAILED
    assert job.error == job.result["summary"]
    assert job.error.startswith("16 of 28 judgements failed (57%; at most 10% may fail)")
    assert (job.progress_done, job.progress_total) == (28, 28)  # 7 personas x 4 questions
    assert job.result["judged_now"] == 28 and job.result["skipped_already_judged"] == 0
    assert job.result["failures_by_kind"] == {
        "bad_response": 4,
        "invalid_permutation": 4,
        "malformed_json": 4,
        "timeout": 4,
    }
    outcome = {
        persona: set(Judgement.objects.filter(persona__source_id=persona).values_list("ok", "failure_kind"))
        for persona in PERSONAS
    }
    assert outcome["valid"] == outcome["ratelimit"] == outcome["flaky"] == {(True, "")}
    assert outcome["malformed"] == {(False, "malformed_json")}
    assert outcome["badperm"] == {(False, "invalid_permutation")}
    assert outcome["garbage"] == {(False, "bad_response")}
    assert outcome["timeout"] == {(False, "timeout")}

    limited = Judgement.objects.filter(persona__source_id="ratelimit").first()
    assert limited.attempts == 2 and limited.attempt_log[0]["status_code"] == 429
    flaky = Judgement.objects.filter(persona__source_id="flaky").first()
    assert flaky.attempts == 2 and flaky.attempt_log[0]["status_code"] == 500
    valid = Judgement.objects.filter(persona__source_id="valid").first()
    assert valid.ranks == {"empathy": [1, 2, 3, 4, 5], "safety": [5, 4, 3, 2, 1]}
    assert valid.judge_settings["model"] == "test-model" and valid.judge_settings["seed"] == 7
    assert valid.judge_settings["prompt_version"] == "persona-rank-v1"
    malformed = Judgement.objects.filter(persona__source_id="malformed").first()
    assert malformed.raw_text.startswith('{"rankings"') and malformed.ranks is None

    # Only valid answers reach aggregation: 3 personas x 4 questions, and empathy prefers response 1.
    assert (
        len(
            list(
                judge_rankings(
                    question_ids=list(response_set.bank.questions.values_list("pk", flat=True)),
                    judge_job_ids=[judge_job.pk],
                )
            )
        )
        == 12
    )
    pairs = preference_pairs(response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job])
    empathy = [pair for pair in pairs if pair.criterion == "empathy"]
    assert len(empathy) == 4 and all(pair.chosen_index == 0 and pair.rejected_index == 4 for pair in empathy)
    assert all(pair.n_judges == 3 for pair in pairs)

    # The key went to the endpoint, and nowhere else.
    assert chat_server.authorization == {f"Bearer {API_KEY}"}
    stored = json.dumps(
        [
            list(Judgement.objects.values()),
            list(Job.objects.values("params", "result", "error")),
            list(AuditEvent.objects.values("detail")),
        ],
        default=str,
    )
    assert API_KEY not in stored
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(judge_job.__dict__)


def test_a_relaunched_job_skips_what_is_already_judged(
    monkeypatch,
    chat_server,
    response_set,
    mini_criteria,
    judge_personas,
    researcher,
    django_capture_on_commit_callbacks,
):
    personas = [p for p in judge_personas if p.source_id in {"valid", "malformed", "ratelimit"}]
    judge_job = create_job(
        response_set=response_set,
        mini_criteria=mini_criteria,
        personas=personas,
        researcher=researcher,
        server=chat_server,
        capture=django_capture_on_commit_callbacks,
    )
    # The worker dies after storing 5 judgements.
    real_record = judging.judgement_record
    stored = []

    def crash_after_five(**kwargs):
        if len(stored) == 5:
            raise RuntimeError("worker lost")
        stored.append(real_record(**kwargs))
        return stored[-1]

    monkeypatch.setattr(judging, "judgement_record", crash_after_five)
    first = judge_job.job
    job_run(job_id=first.pk)
    first.refresh_from_db()
    assert first.status == Status.FAILED and "worker lost" in first.error
    done_before = set(Judgement.objects.values_list("persona__source_id", "question__text"))
    assert len(done_before) == 5
    requests_before = len(chat_server.requests)

    monkeypatch.setattr(judging, "judgement_record", real_record)
    with django_capture_on_commit_callbacks(execute=False):
        second = judge_job_launch(judge_job=judge_job, actor=researcher)
    assert second.pk != first.pk
    job_run(job_id=second.pk)
    second.refresh_from_db()
    # The tally covers the whole judge job: 4 of its 12 judgements (the malformed persona's) failed.
    assert second.status == Status.FAILED and second.error.startswith("4 of 12 judgements failed")
    assert second.result["skipped_already_judged"] == 5 and second.result["judged_now"] == 7
    assert Judgement.objects.filter(judge_job=judge_job).count() == 12
    asked_again = set(chat_server.requests[requests_before:])
    assert not asked_again & done_before

    # Launching while nothing is left asks the endpoint nothing and changes nothing.
    with django_capture_on_commit_callbacks(execute=False):
        third = judge_job_launch(judge_job=judge_job, actor=researcher)
    count = len(chat_server.requests)
    job_run(job_id=third.pk)
    third.refresh_from_db()
    assert third.result["judged_now"] == 0 and len(chat_server.requests) == count


def test_launch_while_running_returns_the_running_job(
    chat_server, response_set, mini_criteria, judge_personas, researcher, django_capture_on_commit_callbacks
):
    judge_job = create_job(
        response_set=response_set,
        mini_criteria=mini_criteria,
        personas=judge_personas[:1],
        researcher=researcher,
        server=chat_server,
        capture=django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=False):
        again = judge_job_launch(judge_job=judge_job, actor=researcher)
    assert again.pk == judge_job.job.pk
    assert Job.objects.filter(kind=judging.JUDGE_JOB_KIND).count() == 1


def _api_body(response_set, criteria_set, personas, **fields) -> dict:
    """A judge-job API request for the first persona, against an endpoint that is never called."""
    return {
        "response_set": response_set.pk,
        "criteria_set": criteria_set.key,
        "personas": [personas[0].pk],
        "base_url": "http://127.0.0.1:9/v1",
        **fields,
    }


def test_api_builds_the_endpoint_with_server_defaults(
    settings, researcher_api, response_set, mini_criteria, personas, django_capture_on_commit_callbacks
):
    """The API's endpoint fields become one JudgeEndpoint: what is left out comes from settings.JUDGE_*,
    `seed` is the judge's sampling seed, and 0 requests per minute means no client-side limit."""
    settings.JUDGE_MAX_CONCURRENCY = 3
    body = _api_body(response_set, mini_criteria, personas, name="API judges", seed=11, requests_per_minute=0)
    with django_capture_on_commit_callbacks(execute=False):
        created = researcher_api.post(reverse("api-judge-jobs"), body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["seed"] == 11
    judge_job = JudgeJob.objects.get(pk=created.json()["id"])
    assert judge_job.endpoint == JudgeEndpoint(
        base_url="http://127.0.0.1:9/v1", model=settings.JUDGE_MODEL, seed=11, max_concurrency=3
    )
    refused = researcher_api.post(
        reverse("api-judge-jobs"), {**body, "model": "   ", "name": "blank model"}, format="json"
    )
    assert refused.status_code == 400 and not JudgeJob.objects.filter(name="blank model").exists()


def test_concurrency_and_rate_are_chosen_per_job_within_the_servers_limits(
    settings, researcher_api, response_set, mini_criteria, personas, django_capture_on_commit_callbacks
):
    """Requests at once and per minute are the researcher's to set per job (API and form), up to
    JUDGE_MAX_CONCURRENCY_LIMIT and JUDGE_REQUESTS_PER_MINUTE_LIMIT; beyond them: 400 naming the field."""
    settings.JUDGE_MAX_CONCURRENCY_LIMIT = 8
    settings.JUDGE_REQUESTS_PER_MINUTE_LIMIT = 600
    body = _api_body(
        response_set, mini_criteria, personas, name="fast judges", max_concurrency=8, requests_per_minute=600
    )
    with django_capture_on_commit_callbacks(execute=False):
        created = researcher_api.post(reverse("api-judge-jobs"), body, format="json")
    assert created.status_code == 201, created.json()
    judge_job = JudgeJob.objects.get(pk=created.json()["id"])
    assert (judge_job.max_concurrency, judge_job.requests_per_minute) == (8, 600)
    assert judge_job.endpoint.requests_per_minute == 600
    for field, value in (("max_concurrency", 9), ("requests_per_minute", 601)):
        refused = researcher_api.post(
            reverse("api-judge-jobs"), {**body, field: value, "name": f"too {field}"}, format="json"
        )
        assert refused.status_code == 400 and field in refused.json(), refused.json()
        assert not JudgeJob.objects.filter(name=f"too {field}").exists()
    form = JudgeJobForm(
        data={
            "name": "form judges",
            "response_set": response_set.pk,
            "criteria_set": mini_criteria.pk,
            "personas": [personas[0].pk],
            "split": "all",
            "temperature": 0,
            "max_concurrency": 9,
            "requests_per_minute": 601,
        }
    )
    assert not form.is_valid()
    assert set(form.errors) == {"max_concurrency", "requests_per_minute"}
    assert 'max="600"' in str(form["requests_per_minute"])


def test_judge_job_counts_are_per_job(response_set, mini_criteria, personas):
    """The list's valid, failed and persona counts of each job count only that job's rows."""
    first = stored_judge_job(response_set, mini_criteria, name="first")
    second = stored_judge_job(response_set, mini_criteria, name="second")
    first.personas.set(personas[:3])
    second.personas.set(personas[:1])
    questions = list(response_set.bank.questions.all())
    for index, question in enumerate(questions):
        for persona in personas[:3]:
            Judgement.objects.create(
                judge_job=first, persona=persona, question=question, response_order=[], ok=index != 0
            )
    Judgement.objects.create(
        judge_job=second, persona=personas[0], question=questions[0], response_order=[], ok=False
    )
    counts = {job.name: (job.n_ok, job.n_failed, job.n_personas) for job in judge_jobs_list()}
    assert counts == {"first": (3 * (len(questions) - 1), 3, 3), "second": (0, 1, 1)}
