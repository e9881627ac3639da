"""The reliability bench's quick run measures every scenario with no 5xx, no lost job and no duplicate.

The bench runs in a subprocess with its own database, Redis, gunicorn and Celery workers; it drops the
database at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import bench_paper_scale  # noqa: E402

ROW = re.compile(r"^\| (?P<scenario>[^|]+) \| (?P<measure>[^|]+) \| (?P<value>[^|]+) \|$")
SCENARIOS = ("broker down/up", "worker kill -9", "concurrent submits + replays", "participant pages")


def bench_databases(url: str) -> set[str]:
    with bench_paper_scale._server(url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bench_reliability_%'")
        return {name for (name,) in rows.fetchall()}


@pytest.mark.slow
def test_quick_run_loses_no_job_answers_no_5xx_stores_no_duplicate_and_drops_its_database(
    postgres_only, tmp_path: Path
) -> None:
    url = os.environ["DATABASE_URL"]
    before = bench_databases(url)
    page = tmp_path / "reliability.md"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_reliability.py"), "--quick", "--write", str(page)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    rows = [match.groups() for line in completed.stdout.splitlines() if (match := ROW.match(line))][1:]
    figures = {(scenario.strip(), measure.strip()): value.strip() for scenario, measure, value in rows}

    def scenario_of(prefix: str) -> str:
        return next(scenario for scenario, _ in figures if prefix in scenario)

    outage, kill, submits, load = (scenario_of(name) for name in SCENARIOS)
    for scenario in (outage, submits, load):
        assert figures[(scenario, "5xx responses")] == "0"
        assert figures[(scenario, "other unexpected statuses")] == "0"
        assert figures[(scenario, "requests with no answer (client errors)")] == "0"
        assert int(figures[(scenario, "requests answered")]) > 0
    assert figures[("all", "tracebacks in the gunicorn log")] == "0"

    created = figures[(outage, "jobs created during the outage")]
    assert int(created) > 0 and figures[(outage, "jobs left unpublished by the outage")] == created
    assert figures[(outage, "job pages saying the work waits for the queue")] == f"{created} of {created}"
    assert figures[(outage, "jobs lost (unfinished after the broker came back)")] == "0"
    assert figures[(outage, "jobs created during the outage executed more than once")] == "0"
    assert figures[(outage, "jobs failed")] == "0"

    assert figures[(kill, "jobs lost (unfinished after recovery)")] == "0"
    assert figures[(kill, "job status / attempts")].startswith("succeeded / ")
    total = figures[(kill, "judge items (slow endpoint answers)")].split()[0]
    assert figures[(kill, "items judged in the end")] == f"{total} of {total}"
    assert figures[(kill, "duplicate judgements stored")] == "0"

    enrolled = figures[(submits, "participants enrolled through the pages")]
    assert figures[(submits, "5xx responses while enrolling")] == "0"
    assert figures[(submits, "duplicate answers (participant, item) in the database")] == "0"
    assert figures[(submits, "submissions stored")] == f"{enrolled} for {enrolled} completed participants"
    assert figures[(submits, "duplicate submissions")] == "0"

    text = page.read_text()
    assert all(
        f"| {scenario} | {measure} | {value} |" in text for (scenario, measure), value in figures.items()
    )
    assert "In this run: 0 5xx responses in all, 0 jobs lost, 0 duplicates." in text
    assert bench_databases(url) == before
