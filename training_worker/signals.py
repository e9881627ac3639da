"""Signals training_worker sends to the apps above it, which it must not import.

`run_finished(sender=TrainingRun, run=<TrainingRun>)` is sent once per run, after the transaction that moved
it to SUCCEEDED, FAILED or CANCELLED has committed (see `training_worker.services.run_finished_announce`).
Generation connects in `TrainingWorkerConfig.ready` (it fills the run's response set); evaluation connects
in `EvaluationConfig.ready` (a scoring run's scores land in its evaluation). Receivers must be idempotent.
"""

from django.dispatch import Signal

run_finished = Signal()
