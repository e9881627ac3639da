"""Writes for the platform core: audit records, guarded status transitions, background jobs."""

import io
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from core.csv import SafeWriter
from core.models import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, AuditEvent, Job, Status
from core.publishing import WORK_KINDS, WorkKind, publish_now, publish_on_commit, work_kind_register

logger = logging.getLogger(__name__)

SECRET_MARKERS = ("token", "secret", "password", "api_key", "apikey", "authorization")


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_label: str | None = None,
    obj: models.Model | None = None,
    detail: Mapping[str, Any] | None = None,
    request=None,
) -> AuditEvent:
    """Append one audit event. Secrets in `detail` are masked before they are stored."""
    user = actor if actor is not None and actor.is_authenticated else None
    label = actor_label or (user.get_username() if user else "anonymous")
    clean_detail = {
        key: ("***" if any(marker in key.lower() for marker in SECRET_MARKERS) else value)
        for key, value in (detail or {}).items()
    }
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=label,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=clean_detail,
        ip_address=ip,
    )


def status_transition(
    *, model: type[models.Model], pk: int, to: str, attempt: int | None = None, **fields: Any
) -> bool:
    """Move one row to `to` if its current status allows it; False (and no write) otherwise.

    The guard is in the UPDATE's WHERE clause, so two workers racing for the same row cannot both win. A
    claim (to RUNNING) takes a running row only once its holder's heartbeats are stale, and stamps the
    first heartbeat itself. `attempt` fences a write to the claim that made it: a worker whose row was
    reaped and claimed again by another can no longer move it.
    """
    sources = [source for source, targets in ALLOWED_TRANSITIONS.items() if to in targets]
    guard = Q(status__in=sources)
    updates: dict[str, Any] = {"status": to, **fields}
    if to == Status.RUNNING:
        stale = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=heartbeat_cutoff())
        guard = Q(status__in=[s for s in sources if s != Status.RUNNING]) | (Q(status=Status.RUNNING) & stale)
        updates["started_at"] = Coalesce(F("started_at"), Now())
        updates["attempts"] = F("attempts") + 1
        updates["heartbeat_at"] = Now()
    if attempt is not None:
        guard &= Q(attempts=attempt)
    if to in TERMINAL_STATUSES:
        updates["finished_at"] = timezone.now()
    return model.objects.filter(guard, pk=pk).update(**updates) == 1


def heartbeat_cutoff() -> Any:
    return timezone.now() - timedelta(seconds=settings.WORK_STALE_AFTER_S)


class WorkBusy(Exception):
    """The row is running under another worker whose heartbeats are fresh; ask again after `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"Running elsewhere; retry in {retry_after_s} s.")


def work_busy_for(*, model: type[models.Model], pk: int) -> int | None:
    """Seconds until a running row's holder counts as gone, or None when the row is not running."""
    row = model.objects.filter(pk=pk, status=Status.RUNNING).values("heartbeat_at").first()
    if row is None:
        return None
    beat = row["heartbeat_at"] or timezone.now()
    remaining = settings.WORK_STALE_AFTER_S - (timezone.now() - beat).total_seconds()
    return max(1, int(remaining) + 1)


def heartbeat_beat(*, model: type[models.Model], pk: int, attempt: int | None = None) -> bool:
    """A sign of life for a running row (of this claim, if `attempt`); False if it is no longer ours."""
    rows = model.objects.filter(pk=pk, status=Status.RUNNING)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    return rows.update(heartbeat_at=Now()) == 1


class Heartbeat:
    """A daemon thread that beats for one claimed row while its work runs (`with Heartbeat(...) as beat:`).

    `beat.lost` turns true when a beat finds the row no longer ours (cancelled, reaped, claimed again)."""

    def __init__(self, *, model: type[models.Model], pk: int, attempt: int) -> None:
        self.model, self.pk, self.attempt = model, pk, attempt
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{pk}", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.WORK_HEARTBEAT_INTERVAL_S):
                try:
                    beaten = heartbeat_beat(model=self.model, pk=self.pk, attempt=self.attempt)
                except Exception:  # a locked or briefly unreachable database: the next beat may get through
                    logger.warning(
                        "Heartbeat of %s %s not recorded", self.model.__name__, self.pk, exc_info=True
                    )
                    continue
                if not beaten:
                    self.lost = True
                    return
        finally:
            connection.close()

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def strip_secrets(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# ---- background jobs ------------------------------------------------------------------------------

JobHandler = Callable[[Job, "JobProgress"], dict]
JOB_HANDLERS: dict[str, JobHandler] = {}


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Register the function that executes jobs of `kind` on the default queue."""

    def register(func: JobHandler) -> JobHandler:
        JOB_HANDLERS[kind] = func
        return func

    return register


class JobCancelled(Exception):
    """Raised inside a handler when the job was cancelled (or taken from this worker) between two units."""


class JobProgress:
    """Handed to a job handler: records progress and tells it when the job was cancelled.

    Handlers that finish many small units call `advance()`, which writes at most every `every` units or
    `interval_s` seconds; `update()` writes at once. Once a total is known the recorded count never passes
    it: a handler that retries or over-counts units must not show 443 of 300.
    """

    def __init__(self, job: Job, *, every: int = 10, interval_s: float = 2.0) -> None:
        self.job = job
        self.every = every
        self.interval_s = interval_s
        self.done = 0
        self.total: int | None = job.progress_total or None
        self._last_write = time.monotonic()
        self._claimed = job.status == Status.RUNNING

    def advance(self, units: int = 1) -> None:
        self.done += units
        now = time.monotonic()
        if self.done % self.every == 0 or now - self._last_write >= self.interval_s:
            self.update(done=self.done)

    def update(self, *, done: int, total: int | None = None) -> None:
        self.done = done
        self._last_write = time.monotonic()
        fields: dict[str, Any] = {}
        if total is not None:
            self.total = fields["progress_total"] = total
        fields["progress_done"] = done if self.total is None else min(done, self.total)
        Job.objects.filter(pk=self.job.pk).update(**fields)
        if self._claimed:
            # Cancelled, or reaped and claimed again by another worker: this claim's work is no longer wanted.
            if not Job.objects.filter(
                pk=self.job.pk, status=Status.RUNNING, attempts=self.job.attempts
            ).exists():
                raise JobCancelled()
        elif Job.objects.filter(pk=self.job.pk, status=Status.CANCELLED).exists():
            raise JobCancelled()


def job_create(
    *,
    kind: str,
    params: Mapping[str, Any] | None = None,
    created_by: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """Create a job and enqueue it once the transaction commits. Same key, same job: no duplicate.

    A broker outage does not fail the caller: the job stays QUEUED and jobs_republish sends it later."""
    if kind not in JOB_HANDLERS:
        raise ValueError(f"Unknown job kind {kind!r}.")
    if idempotency_key:
        existing = Job.objects.filter(kind=kind, idempotency_key=idempotency_key).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind, params=dict(params or {}), created_by=created_by, idempotency_key=idempotency_key
            )
            status_transition(model=Job, pk=job.pk, to=Status.QUEUED)
            job.refresh_from_db()
            publish_on_commit(send=job_message(job.pk), row=job, what=f"job {job.pk}")
    except IntegrityError:
        return Job.objects.get(kind=kind, idempotency_key=idempotency_key)
    return job


def queued_unsent_claim(*, model: type[models.Model], older_than_s: int) -> Iterator[int]:
    """Yield each QUEUED row whose message never reached the queue (for `older_than_s` seconds), or reached it
    more than WORK_RESEND_AFTER_S ago and was never picked up (a broker restarted without persistence loses
    its queues), claimed for this pass.

    The claim stamps `published_at` in a guarded UPDATE, so two reconcilers running at once never both
    send a row, and one pass sends each row at most once. The caller sends it and, when the send fails,
    calls `published_clear` so the next pass tries again. Sending a row whose first message is in fact still
    waiting in a long queue is harmless: a claim never lets a second delivery run it.
    """
    now = timezone.now()
    unsent = Q(published_at__isnull=True, created_at__lte=now - timedelta(seconds=older_than_s))
    lost = Q(published_at__lte=now - timedelta(seconds=settings.WORK_RESEND_AFTER_S))
    stranded = model.objects.filter(unsent | lost, status=Status.QUEUED)
    for pk in stranded.order_by("pk").values_list("pk", flat=True):
        if model.objects.filter(unsent | lost, pk=pk, status=Status.QUEUED).update(published_at=now):
            yield pk


def published_clear(*, model: type[models.Model], pk: int) -> None:
    model.objects.filter(pk=pk).update(published_at=None)


def jobs_republish(*, older_than_s: int) -> list[int]:
    """Publish again the work of every registered kind that a broker outage left QUEUED and unsent, or whose
    message the broker lost.

    Returns the ids of the jobs sent. A pass stops at the first failed send: the broker is still down.
    """
    sent_jobs: list[int] = []
    for kind in WORK_KINDS.values():
        sent: list[int] = []
        for pk in queued_unsent_claim(model=kind.model, older_than_s=older_than_s):
            if not publish_now(send=kind.message(pk), row=kind.model(pk=pk), what=f"{kind.name} {pk}"):
                published_clear(model=kind.model, pk=pk)
                return sent_jobs
            sent.append(pk)
        if sent:
            logger.info(
                "Republished %d queued %s(s) after a task-queue outage: %s", len(sent), kind.name, sent
            )
        if kind.model is Job:
            sent_jobs = sent
    return sent_jobs


def work_reap() -> dict[str, dict[str, list[int]]]:
    """Take back running work whose worker stopped sending heartbeats (killed hard, machine lost).

    Each such row is requeued and sent again, or failed once it has been claimed WORK_MAX_ATTEMPTS times;
    the kind's fence cuts the vanished worker off first. Every write is guarded on the stale heartbeat and the
    claim's attempt, so a worker that beats at the last moment keeps its row.
    Returns {kind: {requeued, failed}}.
    """
    report: dict[str, dict[str, list[int]]] = {}
    for kind in WORK_KINDS.values():
        cutoff = heartbeat_cutoff()
        stale = Q(status=Status.RUNNING) & (
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )
        requeued: list[int] = []
        failed: list[int] = []
        for pk, attempts, beat in kind.model.objects.filter(stale).values_list(
            "pk", "attempts", "heartbeat_at"
        ):
            claim = kind.model.objects.filter(stale, pk=pk, attempts=attempts)
            last = f"{beat:%Y-%m-%d %H:%M:%S} UTC" if beat else "never"
            if attempts >= settings.WORK_MAX_ATTEMPTS:
                error = (
                    f"The worker running it stopped sending heartbeats (last: {last}); it had been started "
                    f"{attempts} times, the most allowed, so it was not requeued."
                )
                if claim.update(status=Status.FAILED, finished_at=timezone.now(), error=error):
                    kind.fence(pk)
                    kind.gave_up(pk)
                    failed.append(pk)
            elif claim.update(status=Status.QUEUED, published_at=None, heartbeat_at=None):
                kind.fence(pk)
                requeued.append(pk)
        for action, pks in (("work.requeued", requeued), ("work.failed", failed)):
            for pk in pks:
                audit_record(
                    action=action, actor_label="system", obj=kind.model(pk=pk), detail={"kind": kind.name}
                )
        for pk in requeued:
            if not publish_now(send=kind.message(pk), row=kind.model(pk=pk), what=f"{kind.name} {pk}"):
                break  # the broker is down: jobs_republish sends the rest once it is back
        if requeued or failed:
            logger.warning("Reaped %s work: requeued %s, failed %s", kind.name, requeued, failed)
            report[kind.name] = {"requeued": requeued, "failed": failed}
    return report


def job_cancel(*, job: Job, actor: AbstractBaseUser) -> bool:
    cancelled = status_transition(model=Job, pk=job.pk, to=Status.CANCELLED)
    if cancelled:
        audit_record(action="job.cancel", actor=actor, obj=job)
    return cancelled


def job_run(*, job_id: int) -> None:
    """Execute a queued job while beating its heartbeat.

    A redelivered message for a finished job does nothing; one for a job another worker holds (heartbeats
    fresh) raises WorkBusy, so the task asks again once that worker would count as gone. The outcome is
    written only while this claim still holds the job (not cancelled, not reaped and claimed again).
    """
    if not status_transition(model=Job, pk=job_id, to=Status.RUNNING):
        busy_for = work_busy_for(model=Job, pk=job_id)
        if busy_for is not None:
            raise WorkBusy(busy_for)
        return
    job = Job.objects.get(pk=job_id)
    attempt = job.attempts
    try:
        with Heartbeat(model=Job, pk=job_id, attempt=attempt):
            result = JOB_HANDLERS[job.kind](job, JobProgress(job))
    except JobCancelled:
        return
    except Exception:
        logger.exception("Job %s (%s) failed", job_id, job.kind)
        error = traceback.format_exc()[-4000:]
        status_transition(model=Job, pk=job_id, to=Status.FAILED, attempt=attempt, error=error)
        return
    status_transition(model=Job, pk=job_id, to=Status.SUCCEEDED, attempt=attempt, result=result or {})


def job_message(job_id: int) -> Callable[[], None]:
    """The send for a job's task message on the default queue."""
    from core.tasks import job_execute

    return lambda: job_execute.delay(job_id)


work_kind_register(WorkKind(name="job", model=Job, message=job_message))


@job_handler("audit_export")
def audit_export(job: Job, progress: JobProgress) -> dict:
    """Write the (filtered) audit log as CSV into the job's output file."""
    from core.selectors import audit_events_filter

    events = audit_events_filter(**job.params)
    total = events.count()
    progress.update(done=0, total=total)
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(["at", "actor", "action", "object_type", "object_id", "detail"])
    for index, event in enumerate(events.iterator(chunk_size=2000), start=1):
        writer.writerow(
            [
                event.at.isoformat(),
                event.actor_label,
                event.action,
                event.object_type,
                event.object_id,
                event.detail,
            ]
        )
        if index % 2000 == 0:
            progress.update(done=index)
    job.output.save(f"audit-log-{job.pk}.csv", ContentFile(buffer.getvalue().encode()), save=False)
    Job.objects.filter(pk=job.pk).update(output=job.output.name, progress_done=total)
    return {"rows": total}
