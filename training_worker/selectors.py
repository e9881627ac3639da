"""Reads for training runs, and how their metrics are labelled by data split."""

from typing import Any

from django.db.models import QuerySet

from training_worker.models import BaseModel, RunEvent, TrainingRun

# Which data split a metric describes, from its key: "test/loss" (the ML package's current keys), or the
# older "test_loss" / TRL's "eval_loss" (its held-out set is the snapshot's test split).
SPLIT_PREFIXES = {"train": "train", "test": "test", "eval": "test"}
# Training-step logs carry no prefix: they are averaged over the train split's batches.
LOSS_KEYS = {"train": ("train/loss", "loss"), "test": ("test/loss", "test_loss", "eval_loss")}


def runs_list(*, status: str | None = None, method: str | None = None) -> QuerySet[TrainingRun]:
    runs = TrainingRun.objects.select_related("created_by").prefetch_related("parents")
    if status:
        runs = runs.filter(status=status)
    if method:
        runs = runs.filter(method=method)
    return runs


def base_models_list() -> QuerySet[BaseModel]:
    return BaseModel.objects.select_related("created_by").order_by("kind", "name")


def run_events(*, run: TrainingRun, after_step: int = -1) -> QuerySet[RunEvent]:
    return run.events.filter(step__gt=after_step).order_by("step", "id")


def metric_split(key: str) -> str | None:
    """The split a metric key names ("train", "test"), or None when its key names none."""
    for separator in ("/", "_"):
        prefix, found, _ = key.partition(separator)
        if found and prefix in SPLIT_PREFIXES:
            return SPLIT_PREFIXES[prefix]
    return None


def metrics_by_split(metrics: dict[str, Any], *, unprefixed: str) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Metrics grouped by split (train, test, then the rest), keys as reported; `unprefixed` labels keys
    without a split prefix (training-step logs are on the train split; a final summary's are not)."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for key, value in sorted(metrics.items()):
        groups.setdefault(metric_split(key) or unprefixed, []).append((key, value))
    order = ["train", "test"]
    return sorted(groups.items(), key=lambda item: (order.index(item[0]) if item[0] in order else 2, item[0]))


def run_metric_series(*, run: TrainingRun) -> dict[str, list[tuple[int, float]]]:
    """{metric key: [(step, value), ...]}: every number the run's progress events reported, by step."""
    series: dict[str, list[tuple[int, float]]] = {}
    for step, metrics in run.events.order_by("step", "id").values_list("step", "metrics"):
        for key, value in metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                series.setdefault(key, []).append((step, float(value)))
    return series


def loss_points(series: dict[str, list[tuple[int, float]]], *, split: str) -> list[tuple[int, float]]:
    """The loss on `split` from a run's metric series: the first of that split's loss keys it reported."""
    return next((series[key] for key in LOSS_KEYS[split] if key in series), [])
