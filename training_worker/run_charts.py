"""The run pages' charts: the loss on both splits, and one chart per logged metric grouped by split (on the
comparison page, one line per run)."""

from dataclasses import dataclass

from core.charts import Series, line_chart_svg
from training_worker.models import TrainingRun
from training_worker.selectors import loss_points, metrics_by_split, run_metric_series

SPLIT_LABELS = {"train": "train split", "test": "test split"}
# Progress bookkeeping the trainer logs with its metrics; not a measure of the model.
NOT_CHARTED = frozenset({"eta_seconds", "epoch"})

MetricSeries = dict[str, list[tuple[int, float]]]


@dataclass(frozen=True)
class ChartGroup:
    split: str
    charts: list[str]


def _run_label(run: TrainingRun) -> str:
    return f"#{run.pk} {run.name}"


def loss_chart(series: MetricSeries) -> str:
    """One run's loss by step on the train split and, where it evaluated during training, the test split."""
    lines = [Series(SPLIT_LABELS[split], loss_points(series, split=split)) for split in ("train", "test")]
    return line_chart_svg(
        title="Loss: train split vs test split",
        series=[item for item in lines if item.points] or lines[:1],
        x_label="step",
        y_label="loss",
    )


def metric_charts(runs: list[TrainingRun], series: dict[int, MetricSeries]) -> list[ChartGroup]:
    """A chart per metric any of `runs` logged, grouped by split (step logs without a prefix are on the train
    split); each run that logged the metric is one line."""
    keys = sorted({key for run in runs for key in series[run.pk]} - NOT_CHARTED)
    groups = metrics_by_split(dict.fromkeys(keys), unprefixed="train")
    single = len(runs) == 1
    return [
        ChartGroup(
            split=SPLIT_LABELS.get(split, split),
            charts=[
                line_chart_svg(
                    title=key,
                    series=[
                        Series(key if single else _run_label(run), series[run.pk][key])
                        for run in runs
                        if key in series[run.pk]
                    ],
                    x_label="step",
                    y_label=key,
                    width=420,
                    height=240,
                )
                for key, _ in rows
            ],
        )
        for split, rows in groups
    ]


def run_series(runs: list[TrainingRun]) -> dict[int, MetricSeries]:
    return {run.pk: run_metric_series(run=run) for run in runs}
