"""Survey page submission under concurrent clients, through gunicorn on loopback, next to a trivial view.

Starts gunicorn (127.0.0.1 only) on a throwaway database, enrols one participant per client (consent and
eligibility through the real pages), then measures two phases on the same server with the same number of
clients and a bounded number of requests each:

- ceiling: GET /accounts/login/ (a template render with a CSRF token, no database write);
- survey: POST of the first questionnaire page (validation against the instrument version, then a
  transaction that locks the participant row and upserts the page's answers), expecting a 302.

Prints requests/s, p50 and p99 latency and the error count of each phase, and the survey/ceiling ratio.
Not a test: figures are printed, never asserted.

    eval "$(scripts/services.sh)"   # PostgreSQL (a temporary database is created and dropped)
    .venv/bin/python bench/bench_survey_submit.py [--clients 8 --requests 150 --workers 3]

Without a PostgreSQL DATABASE_URL it falls back to a temporary SQLite file (one worker: SQLite serialises
writes, so the figures then say little about concurrency).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SLUG = "bench"
PAGE_ONE = {"version": "1", "age_group": "25_34", "gender": "woman", "ethnicity": ["white", "mixed"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_database(base_url: str | None):
    """A fresh PostgreSQL database on the server of `base_url` (dropped afterwards), else SQLite."""
    if not base_url or not base_url.startswith("postgres"):
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3", True
        return
    import psycopg

    parsed = urlparse(base_url)
    name = f"bench_survey_{os.getpid()}"
    admin = psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(parsed._replace(path=f"/{name}")), False
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int):
    process = subprocess.Popen(
        [
            str(Path(PYTHON).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/accounts/login/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not come up")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def enrol(base: str) -> requests.Session:
    """A participant at page 1: study link, consent, eligibility, through the real pages."""
    session = requests.Session()
    session.get(f"{base}/s/{SLUG}/", timeout=30)
    token = session.cookies["csrftoken"]
    headers = {"X-CSRFToken": token}
    consent = session.post(
        f"{base}/s/{SLUG}/", data={"decision": "agree", "agree": "on"}, headers=headers, allow_redirects=False
    )
    assert consent.status_code == 302, consent.status_code
    token = session.cookies["csrftoken"]  # the session key was cycled; the CSRF cookie may be too
    eligibility = session.post(
        f"{base}/s/{SLUG}/eligibility/",
        data={"version": "1", "eligible_adult": "yes", "eligible_lived_experience": "yes"},
        headers={"X-CSRFToken": token},
        allow_redirects=False,
    )
    assert eligibility.headers.get("Location") == f"/s/{SLUG}/q/1/", eligibility.status_code
    return session


def run_phase(sessions: list[requests.Session], requests_each: int, call) -> dict:
    """Every client sends `requests_each` requests back to back; all clients start together."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    barrier = threading.Barrier(len(sessions) + 1)

    def client(session: requests.Session) -> None:
        nonlocal errors
        own: list[float] = []
        failed = 0
        barrier.wait()
        for _ in range(requests_each):
            started = time.perf_counter()
            try:
                ok = call(session)
            except requests.RequestException:
                ok = False
            own.append(time.perf_counter() - started)
            failed += not ok
        with lock:
            latencies.extend(own)
            errors += failed

    threads = [threading.Thread(target=client, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "rps": len(ordered) / wall,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (one participant each)")
    parser.add_argument("--requests", type=int, default=150, help="requests per client and phase")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    args = parser.parse_args()

    with throwaway_database(os.environ.get("DATABASE_URL")) as (database_url, sqlite):
        workers = 1 if sqlite else args.workers
        with tempfile.TemporaryDirectory() as data_dir:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": database_url,
                "DATA_DIR": data_dir,
                "CELERY_BROKER_URL": "memory://",
                "LOG_LEVEL": "WARNING",
            }
            manage(env, "migrate", "--noinput")
            manage(env, "survey_demo", "--slug", SLUG, "--completes", "3")
            with gunicorn(env, free_port(), workers) as base:
                sessions = [enrol(base) for _ in range(args.clients)]
                for session in sessions:
                    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]

                def login_page(session: requests.Session) -> bool:
                    response = session.get(f"{base}/accounts/login/", timeout=30)
                    return response.status_code == 200 and b"Sign in" in response.content

                def survey_page(session: requests.Session) -> bool:
                    response = session.post(
                        f"{base}/s/{SLUG}/q/1/", data=PAGE_ONE, allow_redirects=False, timeout=30
                    )
                    return response.status_code == 302 and response.headers["Location"] == f"/s/{SLUG}/q/2/"

                run_phase(sessions, 5, login_page)  # warm-up: imports, template and connection caches
                run_phase(sessions, 5, survey_page)
                ceiling = run_phase(sessions, args.requests, login_page)
                survey = run_phase(sessions, args.requests, survey_page)

    backend = "SQLite" if sqlite else "PostgreSQL"
    print(
        f"gunicorn {workers} sync worker(s) on 127.0.0.1, {backend}, {args.clients} clients x "
        f"{args.requests} requests per phase, {os.cpu_count()} CPU cores shared by server and clients"
    )
    print(f"{'phase':<32}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for label, figures in (
        ("ceiling: GET /accounts/login/", ceiling),
        ("survey: POST page 1 (save)", survey),
    ):
        print(
            f"{label:<32}{figures['rps']:>9.1f}{figures['p50_ms']:>9.1f}{figures['p99_ms']:>9.1f}"
            f"{figures['errors']:>8}"
        )
    print(f"survey / ceiling throughput: {survey['rps'] / ceiling['rps']:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
