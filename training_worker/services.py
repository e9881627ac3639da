"""Writes for training runs: launch, worker tokens, and the idempotent records a worker posts back."""

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.celery_config import GPU_TASK_PREFIX
from core.errors import ApplicationError, ConflictError
from core.models import TERMINAL_STATUSES, Status
from core.publishing import WorkKind, publish_on_commit, work_kind_register
from core.services import audit_record, heartbeat_beat, status_transition, work_busy_for
from training_worker.models import BaseModel, RunArtifact, RunEvent, RunToken, TrainingRun, hash_token
from training_worker.signals import run_finished

logger = logging.getLogger(__name__)

RESULT_REPLAY_GRACE = timedelta(minutes=10)
GPU_TRAIN_TASK = f"{GPU_TASK_PREFIX}train_run"


class RunConflict(ConflictError):
    """The post contradicts what the run already recorded (a different result, a changed artifact)."""


class ArtifactTooLarge(ApplicationError):
    """The artifact is bigger than settings.ARTIFACT_MAX_BYTES; nothing was stored."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def artifact_size_check(*, size: int) -> None:
    """Refuse an artifact over the configured limit (the view also calls this with the body's length)."""
    if size > settings.ARTIFACT_MAX_BYTES:
        message = f"Artifacts are limited to {settings.ARTIFACT_MAX_BYTES} bytes; this one has {size}."
        raise ArtifactTooLarge(message, {"file": message})


class ArtifactHashMismatch(ApplicationError):
    """The uploaded artifact's body does not hash to the sha256 the worker declared; nothing was stored."""


def run_token_issue(*, run: TrainingRun) -> str:
    """Mint a token for this run alone; the raw value is returned once and only its hash is kept."""
    raw = secrets.token_urlsafe(32)
    RunToken.objects.create(
        run=run,
        key_hash=hash_token(raw),
        expires_at=timezone.now() + timedelta(seconds=settings.RUN_TOKEN_TTL_S),
    )
    return raw


def training_run_create(
    *,
    name: str,
    method: str,
    config: dict[str, Any],
    created_by: AbstractBaseUser | None,
    parents: list[TrainingRun] | None = None,
    base_model: BaseModel | None = None,
) -> TrainingRun:
    run = TrainingRun.objects.create(
        name=name, method=method, config=config, created_by=created_by, base_model=base_model
    )
    if parents:
        run.parents.set(parents)
    detail: dict[str, Any] = {"method": method}
    if base_model is not None:
        detail["base_model"] = base_model.pk
    audit_record(action="training_run.create", actor=created_by, obj=run, detail=detail)
    return run


def training_run_enqueue(*, run: TrainingRun) -> bool:
    """CREATED -> QUEUED, then (after commit) hand the run to the gpu queue with a fresh run token."""
    with transaction.atomic():
        if not status_transition(model=TrainingRun, pk=run.pk, to=Status.QUEUED):
            return False
        publish_on_commit(send=training_run_message(run_id=run.pk), row=run, what=f"run {run.pk}")
    return True


def training_run_message(*, run_id: int) -> Callable[[], None]:
    """The send for a run's gpu-queue message, carrying a fresh token (only its hash is kept)."""
    raw = run_token_issue(run=TrainingRun(pk=run_id))
    kwargs = {"run_id": run_id, "api_url": settings.PUBLIC_BASE_URL, "token": raw}
    return lambda: current_app.send_task(GPU_TRAIN_TASK, kwargs=kwargs)


def run_fence(run_id: int) -> None:
    """The reaper took the run from a worker that went silent: that worker's tokens stop working at once, so
    if it was only slow it cannot go on posting (the requeued message carries a fresh token)."""
    RunToken.objects.filter(run_id=run_id, revoked_at__isnull=True).update(revoked_at=timezone.now())


def run_reaped_failed(run_id: int) -> None:
    run_finished_announce(run_id=run_id)


work_kind_register(
    WorkKind(
        name="training run",
        model=TrainingRun,
        message=lambda run_id: training_run_message(run_id=run_id),
        fence=run_fence,
        gave_up=run_reaped_failed,
    )
)


def training_run_cancel(*, run: TrainingRun, actor: AbstractBaseUser) -> bool:
    """Cancel a run that has not ended. A running worker learns it at its next post (403) and stops."""
    with transaction.atomic():
        if not status_transition(model=TrainingRun, pk=run.pk, to=Status.CANCELLED):
            return False
        run_tokens_retire(run=run)
        audit_record(action="training_run.cancel", actor=actor, obj=run)
        run_finished_announce(run_id=run.pk)
    return True


def run_finished_announce(*, run_id: int) -> None:
    """Once the transaction that ended the run commits, tell the apps that consume its outputs.

    Receivers (generation fills its response set, evaluation ingests scores) run after the commit, so the
    status change stands even if one of them fails; each failure is logged, and each receiver is
    idempotent, so a manual retry (ingest, relaunch) finishes the job."""

    def announce() -> None:
        run = TrainingRun.objects.get(pk=run_id)
        for receiver, response in run_finished.send_robust(sender=TrainingRun, run=run):
            if isinstance(response, Exception):
                logger.error(
                    "run_finished receiver %s failed for run %s",
                    getattr(receiver, "__qualname__", receiver),
                    run_id,
                    exc_info=response,
                )

    transaction.on_commit(announce)


def run_tokens_retire(*, run: TrainingRun) -> None:
    """The run ended: its tokens expire, after a short grace in which only a result replay is accepted."""
    RunToken.objects.filter(run=run, revoked_at__isnull=True).update(
        expires_at=timezone.now() + RESULT_REPLAY_GRACE
    )


class RunBusy(ConflictError):
    """Another worker holds the run and its heartbeats are fresh: this delivery should ask again later."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s: int | None = retry_after_s


def run_start(*, run: TrainingRun) -> TrainingRun:
    """A worker claims the run: QUEUED -> RUNNING, or RUNNING -> RUNNING when a redelivered task resumes a run
    whose previous worker stopped sending heartbeats."""
    if not status_transition(model=TrainingRun, pk=run.pk, to=Status.RUNNING):
        busy_for = work_busy_for(model=TrainingRun, pk=run.pk)
        if busy_for is not None:
            raise RunBusy(f"Run {run.pk} is running on another worker; ask again later.", busy_for)
        raise RunConflict(f"Run {run.pk} is {TrainingRun.objects.get(pk=run.pk).status} and cannot start.")
    return TrainingRun.objects.get(pk=run.pk)


def run_heartbeat(*, run: TrainingRun) -> None:
    """The worker is alive. Refused once the run is not running (ended, or taken back by the reaper)."""
    if not heartbeat_beat(model=TrainingRun, pk=run.pk):
        raise RunConflict(f"Run {run.pk} has ended or was taken back; stop working on it.")


def run_event_record(
    *, run: TrainingRun, event_id: str, step: int, total_steps: int, metrics: dict[str, Any]
) -> tuple[RunEvent, bool]:
    """Store one progress event once; returns (event, created)."""
    try:
        with transaction.atomic():
            event = RunEvent.objects.create(
                run=run, event_id=event_id, step=step, total_steps=total_steps, metrics=metrics
            )
    except IntegrityError:
        return RunEvent.objects.get(run=run, event_id=event_id), False
    TrainingRun.objects.filter(pk=run.pk, step__lte=step).update(
        step=step, total_steps=total_steps, last_metrics=metrics
    )
    heartbeat_beat(model=TrainingRun, pk=run.pk)
    return event, True


def _sha256_of(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def run_artifact_store(
    *, run: TrainingRun, name: str, upload: UploadedFile, sha256: str
) -> tuple[RunArtifact, bool]:
    """Keep an uploaded artifact: the same bytes again are a no-op; new bytes under an old name conflict."""
    artifact_size_check(size=upload.size)
    actual = _sha256_of(upload)
    if actual != sha256:
        message = f"sha256 mismatch: body hashes to {actual}."
        raise ArtifactHashMismatch(message, {"sha256": message})
    existing = RunArtifact.objects.filter(run=run, name=name).first()
    if existing:
        if existing.sha256 != sha256:
            raise RunConflict(f"Artifact {name!r} already exists with different content.")
        return existing, False
    try:
        with transaction.atomic():
            artifact = RunArtifact(run=run, name=name, sha256=sha256, size=upload.size)
            artifact.file.save(f"run-{run.pk}-{sha256[:12]}", upload, save=False)
            artifact.save()
    except IntegrityError:
        return RunArtifact.objects.get(run=run, name=name), False
    return artifact, True


def run_result_record(
    *, run: TrainingRun, status: str, metrics: dict[str, Any], error: str, code_version: str
) -> tuple[TrainingRun, bool]:
    """Record the run's single final result. A replay of it is a no-op; a different result conflicts."""
    if status not in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED):
        raise ValueError(f"Unknown final status {status!r}.")
    with transaction.atomic():
        locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if locked.status in TERMINAL_STATUSES:
            if locked.status == status and locked.result == metrics:
                return locked, False
            if locked.status == Status.CANCELLED and status == Status.CANCELLED:
                return locked, False
            raise RunConflict(f"Run {run.pk} already ended as {locked.status}.")
        if locked.status != Status.RUNNING:
            # A result for a run no worker claimed would record an outcome nothing produced.
            raise RunConflict(f"Run {run.pk} is {locked.status}: claim it before posting a result.")
        status_transition(
            model=TrainingRun, pk=run.pk, to=status, result=metrics, error=error, code_version=code_version
        )
        run_tokens_retire(run=run)
        run_finished_announce(run_id=run.pk)
    locked.refresh_from_db()
    audit_record(action=f"training_run.{status}", actor_label=f"worker:run-{run.pk}", obj=locked)
    return locked, True
