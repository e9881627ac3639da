"""Hand work to the task queue without letting a broker outage fail the request that created it.

The row (a Job, a TrainingRun) is the source of truth and is committed first; its message is sent after the
commit. When the broker is unreachable the send is logged and skipped: the row stays QUEUED with
`published_at` unset, and the periodic reconciler (core.services.jobs_republish) publishes it again once
the broker is back. `published_at` is written only after a send succeeded. The same registry of
work kinds serves the reaper (core.services.work_reap), which takes work back from silent workers.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What a publish raises when the broker cannot be reached: Celery wraps the transport's connection errors
# in kombu's OperationalError after its publish retries; the rest cover transports that do not wrap them.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)


@dataclass(frozen=True)
class WorkKind:
    """A kind of queued work (jobs, training runs) the reconciler and the reaper look after.

    `message(pk)` builds the send for one row's task message; `fence(pk)` runs when the reaper takes a row
    away from a worker that stopped sending heartbeats (a training run revokes that worker's tokens), so a
    worker that was only slow cannot go on writing; `gave_up(pk)` runs after the reaper failed the row.
    """

    name: str
    model: type[models.Model]
    message: Callable[[int], Callable[[], None]]
    fence: Callable[[int], None] = lambda pk: None
    gave_up: Callable[[int], None] = lambda pk: None


# Core registers jobs; higher layers (training runs) register theirs, so one reconciler covers them all.
WORK_KINDS: dict[str, WorkKind] = {}


def work_kind_register(kind: WorkKind) -> WorkKind:
    WORK_KINDS[kind.name] = kind
    return kind


def publish_now(*, send: Callable[[], None], row: models.Model, what: str) -> bool:
    """Send now; on success stamp the row's `published_at`. A broker outage is logged, never raised."""
    try:
        send()
    except BROKER_ERRORS as error:
        logger.warning(
            "Could not publish %s: the task queue is unreachable (%s); it stays queued.", what, error
        )
        return False
    type(row).objects.filter(pk=row.pk).update(published_at=timezone.now())
    return True


def publish_on_commit(*, send: Callable[[], None], row: models.Model, what: str) -> None:
    """Publish once the current transaction commits (see publish_now)."""
    transaction.on_commit(lambda: publish_now(send=send, row=row, what=what))
