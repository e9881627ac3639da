"""What pipelines do when training_worker announces a finished run (`training_worker.signals.run_finished`).

The signal comes after the run's transition committed; receivers connected before this one (generation's
ingest, evaluation's score ingest) have run by then. An advance that finds nothing new does nothing, so a
repeated signal launches nothing twice; the reconciler (`pipelines.tasks`) covers a signal that never came.
"""

from typing import Any

from django.db.models import Q

from pipelines.models import PipelineState, PipelineStep
from pipelines.services.engine import pipeline_advance
from training_worker.models import TrainingRun


def pipeline_run_finished(*, run: TrainingRun, **kwargs: Any) -> None:
    steps = PipelineStep.objects.filter(
        Q(training_run=run) | Q(evaluation__score_run=run), pipeline__state=PipelineState.RUNNING
    )
    for pipeline_id in sorted(set(steps.values_list("pipeline_id", flat=True))):
        pipeline_advance(pipeline_id=pipeline_id)
