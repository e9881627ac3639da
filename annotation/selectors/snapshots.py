"""Reads for dataset snapshots, and the survey's objective weight sets when that app provides them."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from annotation.models import DatasetSnapshot
from core.models import Job

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


def _field(item: Any, *names: str) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def objective_weight_options() -> list[dict[str, Any]]:
    """Objective weight sets from `survey_app.selectors.objective_weight_sets()`, when it exists.

    Each becomes {"id": str, "name": str, "weights": {criterion: float}}; items without a weights mapping
    are left out. Returns [] while the survey app does not provide the selector.
    """
    try:
        selectors = importlib.import_module("survey_app.selectors")
    except ImportError:
        return []
    weight_sets = getattr(selectors, "objective_weight_sets", None)
    if weight_sets is None:
        return []
    options = []
    for item in weight_sets():
        weights = _field(item, "weights")
        identifier = _field(item, "pk", "id")
        if not isinstance(weights, Mapping) or identifier is None:
            continue
        options.append(
            {
                "id": str(identifier),
                "name": str(_field(item, "name", "label") or f"Weight set {identifier}"),
                "weights": {str(key): value for key, value in weights.items()},
            }
        )
    return options


def freeze_jobs_recent(*, limit: int = 5) -> QuerySet[Job]:
    """The latest snapshot-freeze jobs (their result names the snapshot once they succeed)."""
    return Job.objects.filter(kind=SNAPSHOT_FREEZE_KIND).order_by("-created_at", "-id")[:limit]
