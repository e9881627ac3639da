"""Throttling counters live in Django's cache: Redis when CACHE_URL or REDIS_URL is set, shared by every
process, so a limit holds across server processes; local memory otherwise. A Redis outage fails no request."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from core import ratelimit
from survey_app.models import Study
from tests.survey_app.factories import StudyFactory

ROOT = Path(__file__).resolve().parents[2]
WINDOW_S = 10**6  # one window for the whole test
UNREACHABLE_REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


class OtherProcess:
    """A second Django process of this test run (same settings, same cache prefix) that runs `before`,
    waits for the test to go on, then runs `after`; each part's printed lines come back."""

    def __init__(self, before: str, after: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        }
        code = (
            "import sys\nimport django\ndjango.setup()\nfrom core import ratelimit\n"
            f"{before}\nprint('--', flush=True)\nsys.stdin.readline()\n{after}\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def first(self) -> list[str]:
        assert self.process.stdout is not None
        lines = []
        while (line := self.process.stdout.readline().strip()) != "--":
            assert line, "the other process ended early"
            lines.append(line)
        return lines

    def then(self) -> list[str]:
        out, _ = self.process.communicate("go\n", timeout=60)
        assert self.process.returncode == 0
        return out.split()


def test_two_processes_count_on_one_shared_counter(redis_url):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    hit = f"ratelimit.hit(scope='shared', key='203.0.113.9', window_s={WINDOW_S})"
    other = OtherProcess(
        before=f"for _ in range(3):\n    print({hit})",
        after=f"print(ratelimit.hits(scope='shared', key='203.0.113.9', window_s={WINDOW_S}))",
    )
    assert other.first() == ["1", "2", "3"]
    assert ratelimit.hit(scope="shared", key="203.0.113.9", window_s=WINDOW_S) == 4
    assert other.then() == ["4"]
    assert ratelimit.hits(scope="shared", key="198.51.100.7", window_s=WINDOW_S) == 0


def test_a_tally_added_in_one_process_is_taken_in_another(redis_url):
    other = OtherProcess(
        before="ratelimit.tally_add(scope='held', key='k', timeout_s=600)\n" * 2,
        after="print(ratelimit.take_tally(scope='held', key='k'))",
    )
    assert other.first() == []
    assert ratelimit.take_tally(scope="held", key="k") == 2
    assert other.then() == ["0"]


def _cache_for(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "REDIS_URL", "CACHE_KEY_PREFIX")}
    code = "from config.settings import base\nprint(base.CACHES['default'])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cache_url_then_redis_url_select_redis_else_local_memory():
    assert "LocMemCache" in _cache_for({})
    from_broker = _cache_for({"REDIS_URL": "redis://queue:6379/0"})
    assert "RedisCache" in from_broker and "redis://queue:6379/0" in from_broker
    own = _cache_for({"REDIS_URL": "redis://queue:6379/0", "CACHE_URL": "redis://cache:6379/1"})
    assert "redis://cache:6379/1" in own and "queue" not in own


@pytest.mark.django_db
def test_an_unreachable_cache_limits_nothing_and_fails_no_request(caplog):
    study: Study = StudyFactory()
    with override_settings(CACHES=UNREACHABLE_REDIS):
        for _ in range(settings.SURVEY_CODE_ATTEMPTS_LIMIT + 1):
            response = Client().post(f"/s/{study.slug}/resume/", {"code": "AAAAA-BBBBB"})
            assert response.status_code == 200
            assert "We could not find this code" in response.content.decode()
        signed_in = Client().post("/accounts/login/", {"username": "nobody", "password": "wrong-password"})
        assert signed_in.status_code == 200
    assert "rate-limit cache is unavailable" in caplog.text
