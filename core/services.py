"""Writes for the platform core: audit records, guarded status transitions, background jobs."""

import io
import logging
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from core.csv import SafeWriter
from core.models import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, AuditEvent, Job, Status
from core.publishing import REPUBLISHERS, publish_now, publish_on_commit

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


def status_transition(*, model: type[models.Model], pk: int, to: str, **fields: Any) -> bool:
    """Move one row to `to` if its current status allows it; False (and no write) otherwise.

    The guard is in the UPDATE's WHERE clause, so two workers racing for the same row cannot both win.
    """
    sources = [source for source, targets in ALLOWED_TRANSITIONS.items() if to in targets]
    updates: dict[str, Any] = {"status": to, **fields}
    if to == Status.RUNNING:
        updates["started_at"] = Coalesce(F("started_at"), Now())
        updates["attempts"] = F("attempts") + 1
    if to in TERMINAL_STATUSES:
        updates["finished_at"] = timezone.now()
    return model.objects.filter(pk=pk, status__in=sources).update(**updates) == 1


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
    """Raised inside a handler when a researcher cancelled the job between two units of work."""


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
        if Job.objects.filter(pk=self.job.pk, status=Status.CANCELLED).exists():
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
    from core.tasks import job_execute

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
            publish_on_commit(send=lambda: job_execute.delay(job.pk), row=job, what=f"job {job.pk}")
    except IntegrityError:
        return Job.objects.get(kind=kind, idempotency_key=idempotency_key)
    return job


def queued_unpublished_claim(*, model: type[models.Model], older_than_s: int) -> Iterator[int]:
    """Yield each row left QUEUED and unpublished for `older_than_s` seconds, claimed for this pass.

    The claim stamps `published_at` in a guarded UPDATE, so two reconcilers running at once never both
    send a row, and one pass sends each row at most once. The caller sends it and, when the send fails,
    calls `published_clear` so the next pass tries again.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    stranded = model.objects.filter(status=Status.QUEUED, published_at__isnull=True, created_at__lte=cutoff)
    for pk in stranded.order_by("pk").values_list("pk", flat=True):
        if model.objects.filter(pk=pk, published_at__isnull=True).update(published_at=timezone.now()):
            yield pk


def published_clear(*, model: type[models.Model], pk: int) -> None:
    model.objects.filter(pk=pk).update(published_at=None)


def jobs_republish(*, older_than_s: int) -> list[int]:
    """Publish again the jobs (and registered kinds of work) a broker outage left QUEUED and unpublished.

    Returns the ids of the jobs sent. A pass stops at the first failed send: the broker is still down.
    """
    from core.tasks import job_execute

    sent: list[int] = []
    for job_id in queued_unpublished_claim(model=Job, older_than_s=older_than_s):
        if not publish_now(
            send=lambda job_id=job_id: job_execute.delay(job_id), row=Job(pk=job_id), what=f"job {job_id}"
        ):
            published_clear(model=Job, pk=job_id)
            return sent
        sent.append(job_id)
    if sent:
        logger.info("Republished %d queued job(s) after a task-queue outage: %s", len(sent), sent)
    for name, republish in REPUBLISHERS.items():
        others = republish(older_than_s)
        if others:
            logger.info("Republished %d queued %s after a task-queue outage: %s", len(others), name, others)
    return sent


def job_cancel(*, job: Job, actor: AbstractBaseUser) -> bool:
    cancelled = status_transition(model=Job, pk=job.pk, to=Status.CANCELLED)
    if cancelled:
        audit_record(action="job.cancel", actor=actor, obj=job)
    return cancelled


def job_run(*, job_id: int) -> None:
    """Execute a queued job. A redelivered message for a finished job does nothing."""
    if not status_transition(model=Job, pk=job_id, to=Status.RUNNING):
        return
    job = Job.objects.get(pk=job_id)
    try:
        result = JOB_HANDLERS[job.kind](job, JobProgress(job))
    except JobCancelled:
        return
    except Exception:
        logger.exception("Job %s (%s) failed", job_id, job.kind)
        status_transition(model=Job, pk=job_id, to=Status.FAILED, error=traceback.format_exc()[-4000:])
        return
    status_transition(model=Job, pk=job_id, to=Status.SUCCEEDED, result=result or {})


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
