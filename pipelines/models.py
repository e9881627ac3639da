"""Pipeline records: stored plans (by content hash), their runs on a snapshot, and each run's steps.

A step's work is an ordinary training run, response set or evaluation, launched through their own services;
the step only points at it. A step row exists from the pipeline's start (unique per pipeline and name), so
launching it is a guarded UPDATE of that row and happens once however often an advance is asked for.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class PipelinePlan(models.Model):
    """A plan's exact YAML text, stored once per sha256; plans of the same name are numbered versions."""

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    text = models.TextField()
    sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="pipeline_plan_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.sha256[:12]})"


class PipelineState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class PipelineRun(models.Model):
    """A plan bound to a frozen snapshot and to registered models (role -> BaseModel id)."""

    plan = models.ForeignKey(PipelinePlan, related_name="runs", on_delete=models.PROTECT)
    snapshot = models.ForeignKey("annotation.DatasetSnapshot", related_name="+", on_delete=models.PROTECT)
    model_bindings = models.JSONField(default=dict, help_text="Model role -> registered BaseModel id.")
    state = models.CharField(max_length=16, choices=PipelineState, default=PipelineState.RUNNING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Pipeline {self.pk} ({self.plan.name})"


class StepState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class PipelineStep(models.Model):
    """One expanded step of a pipeline run and the work it launched (at most one of the three targets)."""

    pipeline = models.ForeignKey(PipelineRun, related_name="steps", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    method = models.CharField(max_length=16)
    spec = models.JSONField(help_text="The expanded step as the plan defines it (pipelines.plan.Step).")
    inputs = models.JSONField(default=list, help_text="Names of the steps whose outputs it takes.")
    state = models.CharField(max_length=16, choices=StepState, default=StepState.WAITING)
    training_run = models.ForeignKey(
        "training_worker.TrainingRun", null=True, blank=True, related_name="+", on_delete=models.PROTECT
    )
    response_set = models.ForeignKey(
        "annotation.ResponseSet", null=True, blank=True, related_name="+", on_delete=models.PROTECT
    )
    evaluation = models.ForeignKey(
        "evaluation.Evaluation", null=True, blank=True, related_name="+", on_delete=models.PROTECT
    )
    output = models.JSONField(default=dict, blank=True, help_text="Key metric and links of a finished step.")
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True, help_text="Earlier attempts that failed (retried).")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "name"], name="pipeline_step_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class PipelineFigure(models.Model):
    """A figure file a figures step wrote (PNG or SVG bytes), with the lineage its caption names."""

    step = models.ForeignKey(PipelineStep, related_name="figures", on_delete=models.CASCADE)
    name = models.SlugField(max_length=60)
    fmt = models.CharField(max_length=8)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    caption = models.TextField()
    lineage = models.JSONField(
        help_text="Evaluation, entrants (label -> runs), snapshot hash, plan hash and code version."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["step", "name", "fmt"]
        constraints = [
            models.UniqueConstraint(fields=["step", "name", "fmt"], name="pipeline_figure_unique_file")
        ]

    def __str__(self) -> str:
        return f"{self.name}.{self.fmt}"

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.fmt}"
