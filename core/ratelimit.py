"""Fixed-window counters in Django's cache: how often one key (a client address) did one thing lately.

The counters live in the configured cache: Redis when CACHE_URL or REDIS_URL is set, one count for every
server process, so the limit is exact; otherwise each process's own memory, so a deployment with several
processes allows up to that many times the limit. A Redis outage fails no request: counts read 0 (nothing
is limited) and the error is logged.
"""

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import ParamSpec

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
P = ParamSpec("P")


def _fail_open(function: Callable[P, int]) -> Callable[P, int]:
    @functools.wraps(function)
    def counted(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return function(*args, **kwargs)
        except RedisError as error:
            logger.error(
                "The rate-limit cache is unavailable, so %s counts nothing: %s", function.__name__, error
            )
            return 0

    return counted


def _window_key(*, scope: str, key: str, window_s: int) -> str:
    return f"ratelimit:{scope}:{key}:{int(time.time() // window_s)}"


def _increment(cache_key: str, *, timeout_s: int) -> int:
    # add() creates the counter only if it is absent, so concurrent first hits do not reset each other.
    cache.add(cache_key, 0, timeout=timeout_s)
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.set(cache_key, 1, timeout=timeout_s)
        return 1


@_fail_open
def hit(*, scope: str, key: str, window_s: int) -> int:
    """Count one event for `key` in the current window; returns the window's count including this one."""
    return _increment(_window_key(scope=scope, key=key, window_s=window_s), timeout_s=window_s)


@_fail_open
def hits(*, scope: str, key: str, window_s: int) -> int:
    """The current window's count for `key`, without counting anything."""
    return cache.get(_window_key(scope=scope, key=key, window_s=window_s), 0)


@_fail_open
def tally_add(*, scope: str, key: str, timeout_s: int) -> int:
    """Add one to a running tally (not windowed) kept until `take_tally` reads it or it expires."""
    return _increment(f"tally:{scope}:{key}", timeout_s=timeout_s)


@_fail_open
def take_tally(*, scope: str, key: str) -> int:
    """Read a running tally and subtract what was read (atomically where the cache is), keeping later adds."""
    cache_key = f"tally:{scope}:{key}"
    taken = cache.get(cache_key, 0)
    if taken:
        # The tally may have expired meanwhile: then there is nothing left to subtract from.
        with contextlib.suppress(ValueError):
            cache.decr(cache_key, taken)
    return taken


def client_address(request) -> str:
    """The address a request came from, as the audit log records it."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def window_seconds_left(*, window_s: int) -> int:
    """Seconds until the current window ends (a Retry-After value)."""
    return window_s - int(time.time()) % window_s
