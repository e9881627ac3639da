"""Run records on the web side. GPU workers see them only through the worker API."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import StatusMachine
from training_worker.ml.registry import METHODS

# The method registry is the one list of methods; members are named after their keys (TrainingMethod.MODPO).
TrainingMethod = models.TextChoices(
    "TrainingMethod", [(spec.key.upper(), (spec.key, spec.label)) for spec in METHODS.values()]
)


class BaseModel(models.Model):
    """A registered starting model: a directory the GPU workers can read, or a model hub id.

    Researchers register a model once and then pick it by name wherever a model is asked for (launch,
    generation), instead of typing a worker path."""

    class Kind(models.TextChoices):
        CAUSAL_LM = "causal_lm", "Causal language model (policy)"
        REWARD_BACKBONE = "reward_backbone", "Reward-model backbone (encoder)"

    name = models.CharField(max_length=200, unique=True)
    path = models.CharField(max_length=1000, help_text="Directory on the GPU workers, or a model hub id.")
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.CAUSAL_LM)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "path"], name="base_model_unique_path")]

    def __str__(self) -> str:
        return f"{self.name} ({self.path})"


class TrainingRun(StatusMachine):
    name = models.CharField(max_length=200)
    method = models.CharField(max_length=16, choices=TrainingMethod)
    config = models.JSONField(default=dict, help_text="The method's full configuration as launched.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    parents = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="children")
    base_model = models.ForeignKey(
        BaseModel,
        null=True,
        blank=True,
        related_name="runs",
        on_delete=models.PROTECT,
        help_text="The registered model it started from (a run that starts from a policy names its parent).",
    )
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    last_metrics = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    snapshot_hash = models.CharField(
        max_length=64, blank=True, help_text="Content hash of the training data."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Run {self.pk} {self.method} {self.name}"


class RunInput(models.Model):
    """A file a run needs (a dataset snapshot archive, a parent run's artifact), downloaded by the worker."""

    run = models.ForeignKey(TrainingRun, related_name="inputs", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="run-inputs/")
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="run_input_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} (run {self.run_id})"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class RunToken(models.Model):
    """A bearer token valid for one run only, until it expires or the run ends. Only its hash is stored."""

    run = models.ForeignKey(TrainingRun, related_name="tokens", on_delete=models.CASCADE)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Token for run {self.run_id}"

    def is_valid(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class RunEvent(models.Model):
    """A progress report. (run, event_id) is unique, so a re-posted event is stored once."""

    run = models.ForeignKey(TrainingRun, related_name="events", on_delete=models.CASCADE)
    event_id = models.CharField(max_length=100)
    step = models.PositiveIntegerField()
    total_steps = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "step", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "event_id"], name="run_event_unique_id")]

    def __str__(self) -> str:
        return f"Run {self.run_id} step {self.step}"


class RunArtifact(models.Model):
    run = models.ForeignKey(TrainingRun, related_name="artifacts", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    file = models.FileField(upload_to="run-artifacts/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="run_artifact_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} (run {self.run_id})"
