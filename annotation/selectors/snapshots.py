"""Reads for dataset snapshots, and the survey's objective weight sets when that app provides them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from annotation.models import DatasetSnapshot
from core.models import Job
from survey_app.selectors import objective_weight_sets

#: The core.Job kind of a snapshot freeze on the default queue.
SNAPSHOT_FREEZE_KIND = "annotation.snapshot_freeze"


def snapshots_list() -> QuerySet[DatasetSnapshot]:
    return DatasetSnapshot.objects.select_related("criteria_set", "response_set", "created_by").order_by(
        "-created_at", "-id"
    )


def snapshots_for_training() -> QuerySet[DatasetSnapshot]:
    """Snapshots a training run can consume, newest first.

    Each has `.archive` (tar.gz in the layout of training_worker.ml.snapshot, files at the archive root),
    `.archive_sha256`, `.content_hash`, `.criteria_set` and `.manifest`.
    """
    return DatasetSnapshot.objects.select_related("criteria_set").order_by("-created_at", "-id")


def objective_weight_options() -> list[dict[str, Any]]:
    """The survey's objective weight sets as {"id": str, "name": str, "weights": {criterion: float}}."""
    return [
        {
            "id": str(weight_set.pk),
            "name": weight_set.name,
            "weights": {str(key): value for key, value in weight_set.weights.items()},
        }
        for weight_set in objective_weight_sets()
    ]


def freeze_jobs_recent(*, limit: int = 5) -> QuerySet[Job]:
    """The latest snapshot-freeze jobs (their result names the snapshot once they succeed)."""
    return Job.objects.filter(kind=SNAPSHOT_FREEZE_KIND).order_by("-created_at", "-id")[:limit]
