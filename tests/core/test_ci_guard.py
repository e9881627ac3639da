"""Under CI=true a missing service fails the test run instead of skipping the tests that need it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_pytest_with(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_compose.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ci_fails_when_redis_is_unreachable():
    result = run_pytest_with(
        {
            "CI": "true",
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    assert result.returncode != 0
    assert "Redis is unreachable" in result.stdout + result.stderr


def test_ci_fails_without_postgres():
    result = run_pytest_with({"CI": "true", "DATABASE_URL": "sqlite:///tmp-ci-guard.sqlite3"})
    assert result.returncode != 0
    assert "does not select PostgreSQL" in result.stdout + result.stderr
