"""Faults and load against a production-like stack: broker down/up, worker kill -9, concurrent replays, load.

Everything runs isolated on 127.0.0.1 and is torn down at the end: a database of its own
(bench_reliability_<random>) on the PostgreSQL server DATABASE_URL names, migrated and dropped; its own
redis-server (append-only, as in docker-compose.yml) on a free port, so the bench can stop and start the
broker; gunicorn (3 sync workers, as in docker-compose.yml) serving config.wsgi with config.settings.prod;
and real Celery worker processes (``celery -A config.celery worker -Q default -B``) with short republish
and heartbeat intervals.
The scenarios (bench/reliability_scenarios.py):

1. broker down/up: while a judge job runs, Redis is stopped; a researcher requests survey and audit
   exports over HTTP; Redis is started again. 5xx responses, the job page's queue note, jobs lost, jobs
   run twice, time to drain, worker exits (restarted as the restart policy does).
2. worker kill -9: a judge job against a slow local chat-completions server; the worker's main process is
   killed with SIGKILL (its orphaned children next, as a container stop would), a fresh worker started;
   whether the job finished, how long recovery took, attempts, judgements stored twice, prompts sent again.
3. concurrent submits + replays: participants enrol through the pages, then each posts survey page 1 and
   the final submit twice at the same moment; 5xx responses, duplicates in the database, p50/p99.
4. bounded load: C participants loop over the consent page, survey page 1 and its POST for T seconds.

Prints one markdown table (scenario | measure | value); every value is measured in this run, none asserted.
With --write PATH it also writes that table into a Markdown page with the machine, date and command.

    DATABASE_URL=postgres://user@host:5432/any .venv/bin/python bench/bench_reliability.py
        [--quick] [--write docs/reliability.md]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_paper_scale import bench_database_url, database_create, database_drop  # noqa: E402
from bench_survey_submit import free_port  # noqa: E402
from reliability_harness import CeleryWorker, gunicorn, post_form, redis_server, web_client  # noqa: E402

SLUG = "reliability"
PASSWORD = secrets.token_urlsafe(24)
GUNICORN_WORKERS = 3  # as in docker-compose.yml
# Short intervals so recovery shows within the run; production defaults are in README.md.
WORK_KNOBS = {
    "JOB_REPUBLISH_INTERVAL_S": "2",
    "JOB_REPUBLISH_AFTER_S": "2",
    "WORK_HEARTBEAT_INTERVAL_S": "1",
    "WORK_STALE_AFTER_S": "6",
    "WORK_REAP_INTERVAL_S": "2",
    "WORK_MAX_ATTEMPTS": "3",
}
SIZES = {
    "full": {
        "outage": 20,
        "personas": 2,
        "questions": 15,
        "delay": 0.5,
        "submits": 200,
        "clients": 16,
        "T": 20,
    },
    "quick": {"outage": 6, "personas": 1, "questions": 12, "delay": 0.5, "submits": 20, "clients": 4, "T": 4},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of every scenario")
    parser.add_argument("--write", type=Path, help="also write the figures into this Markdown page")
    parser.add_argument("--logs", type=Path, help="copy the Redis, gunicorn and worker logs into this folder")
    return parser.parse_args(argv)


def production_env(*, database_url: str, broker_url: str, folder: Path) -> dict[str, str]:
    """config.settings.prod with its required variables; TLS is left to a proxy (X-Forwarded-Proto)."""
    return {
        **os.environ,
        **WORK_KNOBS,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "DATA_DIR": str(folder),
        "ARTIFACT_ROOT": str(folder / "artifacts"),
        "STATIC_ROOT": str(folder / "static"),
        "LOG_LEVEL": "WARNING",
    }


def prepare(env: dict[str, str]) -> None:
    """Migrate, collect static files (the manifest prod needs), seed a study and the demo preference data."""
    for args in (
        ("migrate", "--noinput"),
        ("collectstatic", "--noinput"),
        ("survey_demo", "--slug", SLUG, "--completes", "3"),
        ("annotation_demo",),
    ):
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from core.roles import Role

    user = get_user_model().objects.create_user(username="bench-researcher", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=Role.RESEARCHER.value)[0])


def run(args: argparse.Namespace, database_url: str, folder: Path) -> list[tuple[str, str, str]]:
    import reliability_scenarios as scenarios

    size = SIZES["quick" if args.quick else "full"]
    broker_port = free_port()
    env = production_env(
        database_url=database_url, broker_url=f"redis://127.0.0.1:{broker_port}/0", folder=folder
    )
    prepare(env)
    with (
        redis_server(port=broker_port, folder=folder / "redis") as broker,
        gunicorn(
            env=env,
            port=free_port(),
            workers=GUNICORN_WORKERS,
            log_path=folder / "gunicorn.log",
        ) as base,
        web_client(base) as researcher,
        ExitStack() as workers,
    ):
        signed_in = post_form(
            researcher, "/accounts/login/", {"username": "bench-researcher", "password": PASSWORD}
        )
        if signed_in.status_code != 302:
            raise RuntimeError(f"the bench researcher could not sign in ({signed_in.status_code})")
        worker = CeleryWorker(env=env, folder=folder, name="worker")
        workers.callback(worker.stop)
        ctx = scenarios.Context(
            base=base, slug=SLUG, env=env, folder=folder, broker=broker, researcher=researcher,
            workers=workers, worker=worker,
        )  # fmt: skip
        rows = scenarios.broker_outage(
            ctx,
            requests=size["outage"],
            in_flight_items=size["questions"],
            delay_s=size["delay"],
            drain_timeout_s=90,
        )
        rows += scenarios.worker_kill(
            ctx,
            personas=size["personas"],
            questions=size["questions"],
            delay_s=size["delay"],
            recovery_timeout_s=90,
        )
        rows += scenarios.concurrent_submits(ctx, participants=size["submits"])
        rows += scenarios.bounded_load(ctx, clients=size["clients"], seconds=size["T"])
        server_errors = [
            line for line in (folder / "gunicorn.log").read_text().splitlines() if "Traceback" in line
        ]
        rows.append(("all", "tracebacks in the gunicorn log", str(len(server_errors))))
    return rows


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| scenario | measure | value |", "|---|---|---|"]
    lines += [f"| {scenario} | {measure} | {value} |" for scenario, measure, value in rows]
    return "\n".join(lines)


PAGE = """# Reliability under faults and load

Measured by `bench/bench_reliability.py` on {date}; regenerate this page with `{command}`.
Machine: {cores} CPU cores (load average {load} as the run began), shared by the servers, the workers and
the clients. PostgreSQL {postgres}; Redis with an append-only file and gunicorn with {workers} sync workers,
both as in `docker-compose.yml`; the site runs `config.settings.prod` (TLS is left to a proxy: the clients
send `X-Forwarded-Proto: https`, and `SECURE_SSL_REDIRECT=false`); Celery workers
`celery -A config.celery worker -Q default -B` with short intervals so recovery shows within the run:
{knobs}.
Every process is the bench's own (its database, Redis and ports), dropped at the end.

## Scenarios

1. **broker down/up**: a judge job is running (against a slow local chat-completions server) when Redis
   is stopped; a signed-in researcher requests survey and audit exports over HTTP and opens each job
   page; Redis is started again and the bench waits for every job, the running one included, to finish.
2. **worker kill -9**: a judge job runs against a local chat-completions server that takes a fixed time
   per answer; once 40% of the items are judged, the worker's main process gets SIGKILL. Its children
   are observed for 2 s and then killed too, as a container stop would; a fresh worker is started.
3. **concurrent submits + replays**: participants enrol through the consent and eligibility pages; each
   then posts survey page 1 twice at the same moment, the remaining pages are filled, and each posts the
   final submit twice at the same moment (a double click or a retried request).
4. **participant pages**: C enrolled participants loop for T seconds over the consent page (GET), survey
   page 1 (GET) and its POST, back to back.

## Figures

{table}

In this run: {server_errors} 5xx responses in all, {lost} jobs lost, {duplicates} duplicates.

## What the figures mean

- **jobs lost**: work a researcher was told was queued that never finished. After a broker outage the
  rows wait, QUEUED and unpublished, and beat (`core.jobs_republish`) sends them once Redis answers.
  After a kill -9 the job stays RUNNING with a heartbeat that stops; `core.work_reap` requeues it once the
  heartbeat is older than `WORK_STALE_AFTER_S`, and a fresh worker resumes it.
- **duplicates**: work done twice. Jobs run twice show as attempts above 1 (a requeue after a kill is
  expected to count 2); judgements and answers are unique per item in the database, so a replay or a
  resumed job must add no row. "Prompts sent to the endpoint again" counts the items whose answer was
  lost with the killed process and asked for a second time (at most one per request in flight).
- **worker exits while the broker was away**: "0" is hoped for. With celery 5.7 / kombu 5.7 / redis-py 8.1 a
  worker whose connection to Redis drops while a task is unacknowledged (any running task, with late
  acknowledgement) can stop with `Unrecoverable error: AttributeError("'NoneType' object has no attribute
  'hostname'")`: kombu restores the unacknowledged message while closing a channel whose connection is already
  gone. The deployment therefore runs every worker under a restart policy (docker-compose
  `restart: unless-stopped`), and the bench does what that policy does: it starts a worker again when one
  exits, and counts the exits here with the worker's last critical log line. Jobs are not lost either way:
  the running one is reaped and requeued by its stale heartbeat, the queued ones are republished by beat.
- **5xx responses / tracebacks**: every request is expected to answer 2xx or 3xx, whatever the broker
  is doing; "other unexpected statuses" counts answers that were neither the expected code nor 5xx.
- **latency**: p50 and p99 over every request of the scenario, measured at the client (nearest rank).
  While the broker is down a request that creates work waits for Celery's publish retries before it
  answers. On a machine this size the clients compete with the server for the same cores, so compare
  figures within one run rather than across machines.
"""


def page(rows: list[tuple[str, str, str]], args: argparse.Namespace, postgres: str, load: float) -> str:
    def total(prefix: str) -> int:
        return sum(int(value) for _, measure, value in rows if measure.startswith(prefix) and value.isdigit())

    return PAGE.format(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=" ".join(
            [
                ".venv/bin/python bench/bench_reliability.py",
                *(["--quick"] if args.quick else []),
                "--write",
                str(args.write),
            ]
        ),
        cores=os.cpu_count(),
        load=f"{load:.1f}",
        postgres=postgres,
        workers=GUNICORN_WORKERS,
        knobs=", ".join(f"`{name}={value}`" for name, value in WORK_KNOBS.items()),
        table=table(rows),
        server_errors=total("5xx responses"),
        lost=total("jobs lost"),
        duplicates=total("duplicate") + total("jobs created during the outage executed more than once"),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = os.getloadavg()[0]
    url = os.environ.get("DATABASE_URL", "")
    name = f"bench_reliability_{secrets.token_hex(4)}"
    database_url = bench_database_url(url, name)
    database_create(url, name)
    try:
        with tempfile.TemporaryDirectory() as folder:
            try:
                rows = run(args, database_url, Path(folder))
            finally:
                if args.logs:
                    args.logs.mkdir(parents=True, exist_ok=True)
                    for log in Path(folder).rglob("*.log"):
                        shutil.copy(log, args.logs / log.name)
        from django.db import connection

        postgres = connection.cursor().connection.info.server_version
    finally:
        database_drop(url, name)
    print(table(rows))
    if args.write:
        major, minor = divmod(postgres, 10000)
        args.write.write_text(page(rows, args, f"{major}.{minor}", load))
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
