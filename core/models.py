"""Platform-wide records: the append-only audit log and the job status machine."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AuditEvent(models.Model):
    """Who did what to which object, when. Append-only: rows are never updated or deleted."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(
        max_length=150, help_text="Username (or 'system', 'worker:run-N') at the time."
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"
        )

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class Status(models.TextChoices):
    CREATED = "created", "Created"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})

# RUNNING -> RUNNING is a resume by a redelivered task once the worker that held the row stopped sending
# heartbeats (core.services.status_transition guards it); RUNNING -> QUEUED is the reaper handing such a row
# back to the queue. Each claim counts as an attempt.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.CREATED: frozenset({Status.QUEUED, Status.CANCELLED}),
    Status.QUEUED: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED}),
    Status.RUNNING: frozenset(
        {Status.RUNNING, Status.QUEUED, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}
    ),
    Status.SUCCEEDED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}


class StatusMachine(models.Model):
    """A row whose status only moves along ALLOWED_TRANSITIONS, guarded in the UPDATE itself."""

    status = models.CharField(max_length=16, choices=Status, default=Status.CREATED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its task message reached the queue; unset while the queue was down.",
    )
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last sign of life from the worker running it; a stale one lets the reaper requeue it.",
    )

    class Meta:
        abstract = True

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def awaits_queue(self) -> bool:
        """Queued, but its message never reached the task queue (the reconciler will send it)."""
        return self.status == Status.QUEUED and self.published_at is None


class Job(StatusMachine):
    """A web-tier background job (imports, judge runs, exports, statistics) on the "default" queue."""

    kind = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    output = models.FileField(upload_to="jobs/", blank=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 (NULL = no key)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="job_unique_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} {self.kind} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == Status.SUCCEEDED else 0
        return round(100 * self.progress_done / self.progress_total)
