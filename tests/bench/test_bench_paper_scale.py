"""The paper-scale bench runs end to end at 1% of the study: it seeds, every page answers 200, it cleans up.

The bench runs in a subprocess, in a throwaway database of its own on the test PostgreSQL server.
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

LAST_LINE = re.compile(r"^worst page p95: \d+\.\d\d s$")
ROW = re.compile(r"^(?P<name>.+?)\s+(?P<status>\d{3}|-)\s+(?:\d+\.\d\d\s+\d+\.\d\d\s+\d+\s+\d+|\s*ERROR)")


@pytest.mark.slow
def test_one_percent_scale_times_every_page_with_200_and_drops_its_database(
    postgres_only, tmp_path: Path
) -> None:
    url = os.environ["DATABASE_URL"]
    name = f"paper_scale_bench_test_{os.getpid()}"
    bench = [sys.executable, str(ROOT / "bench" / "bench_paper_scale.py")]
    completed = subprocess.run(
        [*bench, "--scale", "0.01", "--repeat", "1", "--database", name],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "ARTIFACT_ROOT": str(tmp_path)},
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]

    lines = completed.stdout.rstrip().splitlines()
    table = lines.index(next(line for line in lines if line.startswith("page ")))
    rows = []
    for line in lines[table + 1 :]:
        match = ROW.match(line)
        if match is None:
            break
        rows.append((match["name"].strip(), match["status"]))
    assert len(rows) >= 50
    assert {"judge job detail", "response set (judges)", "evaluation detail", "api run"} <= {
        n for n, _ in rows
    }
    assert [row for row in rows if row[1] != "200"] == []
    assert f"pages: {len(rows)} timed, 0 errors" in completed.stdout
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert not bench_paper_scale.database_exists(url, name)
    assert not list(tmp_path.rglob("*.tar.gz"))
