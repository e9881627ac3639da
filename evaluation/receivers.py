"""What evaluation does when training_worker announces a finished run (`training_worker.signals`).

Connected in `EvaluationConfig.ready`; training_worker sends the signal and never imports evaluation.
"""

from typing import Any

from core.models import Status
from evaluation.models import Evaluation
from evaluation.services.evaluations import evaluation_launch
from training_worker.models import TrainingMethod, TrainingRun


def evaluation_score_run_finished(*, run: TrainingRun, **kwargs: Any) -> None:
    """A succeeded scoring run's scores land in its evaluation, with no second click.

    Queues one execution per scoring run (keyed by the run, so a repeated signal queues nothing more); it
    ingests the scores and recomputes the statistics. A failed run leaves the evaluation as it is: its page
    shows the failed scoring run, and a launch rescores."""
    if run.method != TrainingMethod.SCORE or run.status != Status.SUCCEEDED:
        return
    for evaluation in Evaluation.objects.filter(score_run=run):
        evaluation_launch(
            evaluation=evaluation, actor=None, idempotency_key=f"evaluation-{evaluation.pk}-scores-{run.pk}"
        )
