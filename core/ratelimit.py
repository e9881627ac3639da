"""Fixed-window counters in Django's cache: how often one key (a client address) did one thing lately.

The counters live in the configured cache. With the default local-memory cache each server process counts on
its own, so a deployment with several processes allows up to that many times the limit; a shared cache
(Redis, Memcached) makes the limit exact.
"""

import contextlib
import time

from django.core.cache import cache


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


def hit(*, scope: str, key: str, window_s: int) -> int:
    """Count one event for `key` in the current window; returns the window's count including this one."""
    return _increment(_window_key(scope=scope, key=key, window_s=window_s), timeout_s=window_s)


def hits(*, scope: str, key: str, window_s: int) -> int:
    """The current window's count for `key`, without counting anything."""
    return cache.get(_window_key(scope=scope, key=key, window_s=window_s), 0)


def tally_add(*, scope: str, key: str, timeout_s: int) -> int:
    """Add one to a running tally (not windowed) kept until `take_tally` reads it or it expires."""
    return _increment(f"tally:{scope}:{key}", timeout_s=timeout_s)


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
