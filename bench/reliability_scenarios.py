"""The four scenarios of bench_reliability.py; each returns rows (scenario, measure, value), all measured.

They run in the bench process with Django set up on the bench's own database, so they read the outcome from
the database itself; the traffic goes through gunicorn and the work through real Celery workers.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from bench_survey_submit import PAGE_ONE
from reliability_harness import (
    CeleryWorker,
    RedisServer,
    SlowChatServer,
    percentile_ms,
    post_form,
    wait_until,
    web_client,
)

QUEUE_NOTE = "Waiting for the task queue"
Row = tuple[str, str, str]


@dataclass
class Context:
    base: str
    slug: str
    env: dict[str, str]
    folder: Path
    broker: RedisServer
    researcher: httpx.Client
    workers: ExitStack
    worker: CeleryWorker
    exits: list[str] = field(default_factory=list)

    def worker_start(self, name: str) -> None:
        self.worker = CeleryWorker(env=self.env, folder=self.folder, name=name)
        self.workers.callback(self.worker.stop)

    def supervise(self) -> None:
        """What the deployment's restart policy does (docker-compose `restart: unless-stopped`): a worker
        that exited is started again; why it exited (its last critical log line) is kept for the table."""
        if self.worker.process.poll() is None:
            return
        critical = [line for line in self.worker.log().splitlines() if " CRITICAL " in line]
        self.exits.append(critical[-1].split(" CRITICAL ", 1)[1] if critical else "no critical log line")
        self.worker_start(f"restarted-worker-{len(self.exits)}")


class Timed:
    """Latencies and 5xx count of requests sent from many threads."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.server_errors = 0
        self.unexpected: dict[int, int] = {}
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()

    def send(self, call, *, expect: tuple[int, ...] = (200, 302)) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = call()
        except httpx.HTTPError as error:
            with self.lock:
                self.failures[type(error).__name__] = self.failures.get(type(error).__name__, 0) + 1
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies.append(elapsed)
            self.server_errors += response.status_code >= 500
            if response.status_code not in expect:
                self.unexpected[response.status_code] = self.unexpected.get(response.status_code, 0) + 1
        return response

    def rows(self, scenario: str) -> list[Row]:
        return [
            (scenario, "requests answered", str(len(self.latencies))),
            (scenario, "5xx responses", str(self.server_errors)),
            (scenario, "other unexpected statuses", _counts(self.unexpected)),
            (scenario, "requests with no answer (client errors)", _counts(self.failures)),
            (scenario, "p50 latency (ms)", f"{percentile_ms(self.latencies, 0.5):.0f}"),
            (scenario, "p99 latency (ms)", f"{percentile_ms(self.latencies, 0.99):.0f}"),
        ]


def _counts(counts: dict) -> str:
    """'0', or the total and what it is made of: '3 (429: 2, 403: 1)'."""
    if not counts:
        return "0"
    detail = ", ".join(f"{key}: {value}" for key, value in sorted(counts.items(), key=lambda item: -item[1]))
    return f"{sum(counts.values())} ({detail})"


def _job_outcome(ids: list[int]) -> dict[str, int]:
    from core.models import TERMINAL_STATUSES, Job, Status

    jobs = list(Job.objects.filter(pk__in=ids).values("status", "attempts"))
    return {
        "unfinished": len(ids) - sum(job["status"] in TERMINAL_STATUSES for job in jobs),
        "failed": sum(job["status"] == Status.FAILED for job in jobs),
        "repeated": sum(job["attempts"] > 1 for job in jobs),
    }


def broker_outage(
    ctx: Context, *, requests: int, in_flight_items: int, delay_s: float, drain_timeout_s: float
) -> list[Row]:
    """A judge job is running when Redis stops; exports are requested over HTTP; Redis starts again.
    Every job must finish, and run once (the running one: once more at most, after a requeue)."""
    from annotation.models import Judgement
    from core.models import Job

    name = "broker down/up"
    with slow_judge(delay_s) as server:
        in_flight = judge_job(server_url=server.base_url, personas=1, questions=in_flight_items)
        wait_until(lambda: Judgement.objects.filter(judge_job=in_flight).exists(), timeout_s=60)
        ctx.broker.stop()
        timed = Timed()
        ids: list[int] = []
        notes = 0
        for number in range(requests):
            url, data = (
                ("/audit/", {"action": "snapshot"}) if number % 2 else (f"/studies/{ctx.slug}/export/", {})
            )
            response = timed.send(
                lambda url=url, data=data: post_form(ctx.researcher, url, data), expect=(302,)
            )
            location = response.headers.get("Location", "") if response is not None else ""
            if location.startswith("/jobs/"):
                ids.append(int(location.strip("/").split("/")[1]))
                page = timed.send(lambda location=location: ctx.researcher.get(location), expect=(200,))
                notes += page is not None and QUEUE_NOTE in page.text
        unpublished = Job.objects.filter(pk__in=ids, published_at__isnull=True).count()
        ctx.broker.start()
        restarted = time.monotonic()
        every = [*ids, in_flight.job_id]

        def drained() -> bool:
            ctx.supervise()
            return _job_outcome(every)["unfinished"] == 0

        wait_until(drained, timeout_s=drain_timeout_s, interval_s=0.25)
        drained_s = time.monotonic() - restarted
    created, running = _job_outcome(ids), _job_outcome([in_flight.job_id])
    unfinished = created["unfinished"] + running["unfinished"]
    return [
        *timed.rows(name),
        (name, "jobs created during the outage", str(len(ids))),
        (name, "jobs left unpublished by the outage", str(unpublished)),
        (name, "job pages saying the work waits for the queue", f"{notes} of {len(ids)}"),
        (name, "jobs lost (unfinished after the broker came back)", str(unfinished)),
        (name, "of which the judge job running when the broker stopped", str(running["unfinished"])),
        (name, "jobs created during the outage executed more than once", str(created["repeated"])),
        (name, "jobs failed", str(created["failed"] + running["failed"])),
        (
            name,
            "seconds from broker restart to all jobs finished",
            f"{drained_s:.1f}" if not unfinished else f"not finished in {drain_timeout_s:.0f}",
        ),
        (
            name,
            "worker exits while the broker was away (restarted by the supervisor)",
            (f"{len(ctx.exits)}: {ctx.exits[-1]}" if ctx.exits else "0").replace("|", "/"),
        ),
    ]


@contextmanager
def slow_judge(delay_s: float) -> Iterator[SlowChatServer]:
    """A chat-completions server answering the demo response set's questions after `delay_s` each."""
    from django.db.models import Count

    from annotation.models import CandidateResponse, ResponseSet
    from criteria.models import CriteriaSet

    sizes = set(
        CandidateResponse.objects.filter(response_set=ResponseSet.objects.order_by("pk").first())
        .values("question")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    assert len(sizes) == 1, f"the bench's slow judge answers one number of responses, found {sizes}"
    keys = CriteriaSet.objects.get(key="therapeutic", is_current=True).criterion_keys
    with SlowChatServer(delay_s=delay_s, criteria_keys=list(keys), k=sizes.pop()).serving() as server:
        yield server


def judge_job(*, server_url: str, personas: int, questions: int):
    from django.contrib.auth import get_user_model

    from annotation.models import JudgePersona, ResponseSet
    from annotation.services.judging import judge_endpoint_with_defaults, judge_job_create
    from criteria.models import CriteriaSet

    return judge_job_create(
        name=f"reliability bench {time.time():.0f}",
        response_set=ResponseSet.objects.order_by("pk").first(),
        criteria_set=CriteriaSet.objects.get(key="therapeutic", is_current=True),
        personas=list(JudgePersona.objects.order_by("pk")[:personas]),
        created_by=get_user_model().objects.get(username="bench-researcher"),
        endpoint=judge_endpoint_with_defaults(
            base_url=server_url, model="bench", max_concurrency=1, requests_per_minute=0
        ),
        max_questions=questions,
    )


def worker_kill(
    ctx: Context, *, personas: int, questions: int, delay_s: float, recovery_timeout_s: float
) -> list[Row]:
    """kill -9 the worker running a judge job (then its orphans); a fresh worker must finish it, once."""
    from django.db.models import Count

    from annotation.models import Judgement
    from core.models import Job, Status

    name = "worker kill -9"
    with slow_judge(delay_s) as server:
        job = judge_job(server_url=server.base_url, personas=personas, questions=questions)
        total = personas * questions
        judged = Judgement.objects.filter(judge_job=job)
        wait_until(lambda: judged.count() >= total * 0.4, timeout_s=60)
        children = ctx.worker.children()
        runners = [pid for pid in children if _talks_to(pid, server.port)]
        judged_at_kill = judged.count()
        ctx.worker.kill_main()
        killed = time.monotonic()
        time.sleep(2)
        orphans = [pid for pid in children if not _gone(pid)]
        judged_by_orphans = judged.count() - judged_at_kill
        for pid in orphans:
            psutil.Process(pid).kill()
        ctx.worker_start("fresh-worker")
        job_id = job.job_id
        finished = wait_until(
            lambda: Job.objects.get(pk=job_id).is_terminal, timeout_s=recovery_timeout_s, interval_s=0.25
        )
        recovered_s = time.monotonic() - killed
        outcome = Job.objects.get(pk=job_id)
        stored_twice = judged.values("persona", "question").annotate(n=Count("id")).filter(n__gt=1).count()
        repeated_prompts = server.repeated()
    return [
        (name, "judge items (slow endpoint answers)", f"{total} ({delay_s:.1f} s each)"),
        (name, "items judged when the worker was killed", str(judged_at_kill)),
        (name, "worker children alive 2 s after the main process died", f"{len(orphans)} of {len(children)}"),
        (
            name,
            "the child running the job, 2 s after the main process died",
            ", ".join("alive" if pid in orphans else "gone" for pid in runners) or "not found",
        ),
        (name, "items judged by orphans in those 2 s", str(judged_by_orphans)),
        (name, "jobs lost (unfinished after recovery)", str(int(outcome.status != Status.SUCCEEDED))),
        (name, "job status / attempts", f"{outcome.status} / {outcome.attempts}"),
        (
            name,
            "seconds from kill to job finished",
            f"{recovered_s:.1f}" if finished else f"not finished in {recovery_timeout_s:.0f}",
        ),
        (name, "items judged in the end", f"{judged.count()} of {total}"),
        (name, "duplicate judgements stored", str(stored_twice)),
        (name, "prompts sent to the endpoint again", str(repeated_prompts)),
    ]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _talks_to(pid: int, port: int) -> bool:
    """Whether process `pid` holds a TCP connection to 127.0.0.1:`port`."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return False
    return any(connection.raddr and connection.raddr.port == port for connection in connections)


def enrol(client: httpx.Client, timed: Timed, slug: str) -> None:
    """Consent and eligibility through the real pages."""
    timed.send(lambda: client.get(f"/s/{slug}/"), expect=(200,))
    timed.send(lambda: post_form(client, f"/s/{slug}/", {"decision": "agree", "agree": "on"}), expect=(302,))
    data = {"version": "1", "eligible_adult": "yes", "eligible_lived_experience": "yes"}
    timed.send(lambda: post_form(client, f"/s/{slug}/eligibility/", data), expect=(302,))


def _fill_remaining_pages(participant_ids: list[int]) -> None:
    from demo.survey import synthetic_answers
    from survey_app.models import Participant
    from survey_app.selectors import survey_pages
    from survey_app.services.participants import page_save

    rng = random.Random(7)
    for participant in Participant.objects.filter(pk__in=participant_ids).select_related(
        "study", "instrument"
    ):
        answers = synthetic_answers(study=participant.study, instrument=participant.instrument, rng=rng)
        pages = survey_pages(instrument=participant.instrument)
        for number, page in enumerate(pages[1:], start=2):
            page_save(participant=participant, page_number=number, answers=answers[page["key"]], advance=True)


def concurrent_submits(ctx: Context, *, participants: int) -> list[Row]:
    """Participants each send survey page 1 and the final submit twice at once (a double click, a retry)."""
    from django.db.models import Count

    from survey_app.models import Answer, Participant, ParticipantStatus, Submission

    name = f"{participants} concurrent submits + replays"
    started = Participant.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    clients = [web_client(ctx.base) for _ in range(participants)]
    enrolment = Timed()
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda client: enrol(client, enrolment, ctx.slug), clients))
    ids = list(Participant.objects.filter(pk__gt=started).values_list("pk", flat=True))
    timed = Timed()

    def twice(url: str, data: dict) -> None:
        barrier = threading.Barrier(2 * len(clients))

        def send(client: httpx.Client) -> None:
            barrier.wait()
            timed.send(lambda: post_form(client, url, data), expect=(302,))

        with ThreadPoolExecutor(max_workers=2 * len(clients)) as pool:
            list(pool.map(send, [client for client in clients for _ in range(2)]))

    for client in clients:
        client.get(f"/s/{ctx.slug}/q/1/")  # the CSRF cookie is set before the barrier
    twice(f"/s/{ctx.slug}/q/1/", PAGE_ONE)
    _fill_remaining_pages(ids)
    twice(f"/s/{ctx.slug}/review/", {})
    for client in clients:
        client.close()
    duplicated_answers = (
        Answer.objects.filter(participant__in=ids)
        .values("participant", "item")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    submissions = Submission.objects.filter(participant__in=ids).count()
    completed = Participant.objects.filter(pk__in=ids, status=ParticipantStatus.COMPLETED).count()
    return [
        (name, "participants enrolled through the pages", str(len(ids))),
        (name, "5xx responses while enrolling", str(enrolment.server_errors)),
        *timed.rows(name),
        (name, "duplicate answers (participant, item) in the database", str(duplicated_answers)),
        (name, "submissions stored", f"{submissions} for {completed} completed participants"),
        (name, "duplicate submissions", str(max(0, submissions - completed))),
    ]


def bounded_load(ctx: Context, *, clients: int, seconds: float) -> list[Row]:
    """`clients` participants loop for `seconds`: the consent page, survey page 1 (GET) and its POST."""
    name = f"participant pages, {clients} clients x {seconds:.0f} s"
    sessions = [web_client(ctx.base) for _ in range(clients)]
    visitors = [web_client(ctx.base) for _ in range(clients)]
    setup = Timed()
    for session in sessions:
        enrol(session, setup, ctx.slug)
    timed = Timed()
    deadline = time.monotonic() + seconds

    def loop(session: httpx.Client, visitor: httpx.Client) -> None:
        while time.monotonic() < deadline:
            timed.send(lambda: visitor.get(f"/s/{ctx.slug}/"), expect=(200,))
            timed.send(lambda: session.get(f"/s/{ctx.slug}/q/1/"), expect=(200,))
            timed.send(lambda: post_form(session, f"/s/{ctx.slug}/q/1/", PAGE_ONE), expect=(302,))

    begun = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(loop, sessions, visitors))
    elapsed = time.monotonic() - begun
    for client in (*sessions, *visitors):
        client.close()
    return [
        *timed.rows(name),
        (name, "requests per second", f"{len(timed.latencies) / elapsed:.0f}"),
        (name, "5xx responses while enrolling", str(setup.server_errors)),
    ]
