"""Reads for training runs."""

from django.db.models import QuerySet

from training_worker.models import RunEvent, TrainingRun


def runs_list(*, status: str | None = None, method: str | None = None) -> QuerySet[TrainingRun]:
    runs = TrainingRun.objects.select_related("created_by").prefetch_related("parents")
    if status:
        runs = runs.filter(status=status)
    if method:
        runs = runs.filter(method=method)
    return runs


def run_events(*, run: TrainingRun, after_step: int = -1) -> QuerySet[RunEvent]:
    return run.events.filter(step__gt=after_step).order_by("step", "id")


def run_loss_series(*, run: TrainingRun) -> list[tuple[int, float]]:
    """(step, loss) for every progress event that reported a loss, in step order."""
    series = []
    for step, metrics in run.events.order_by("step").values_list("step", "metrics"):
        loss = metrics.get("loss")
        if isinstance(loss, int | float):
            series.append((step, float(loss)))
    return series
