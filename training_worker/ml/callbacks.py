"""Progress and cancellation hooks between a training run and whoever launched it.

The launcher (the Celery GPU task, the CLI, a test) passes an object with `on_progress` and `should_cancel`;
`ProgressCallback` adapts it to a transformers `TrainerCallback`, so every TRL trainer reports progress and
honours cancellation the same way, without knowing who is listening.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


@runtime_checkable
class RunCallbacks(Protocol):
    """What a launcher implements to follow and steer a run."""

    def on_progress(self, step: int, total: int, metrics: dict[str, float]) -> None:
        """Receive the latest logged metrics (loss, learning_rate, rewards/..., eta_seconds) at a step."""

    def should_cancel(self) -> bool:
        """Return True to stop the run gracefully at the next step boundary."""


class NullCallbacks:
    """Callbacks that listen to nothing and never cancel (the default for the CLI and tests)."""

    def on_progress(self, step: int, total: int, metrics: dict[str, float]) -> None:
        return None

    def should_cancel(self) -> bool:
        return False


class ProgressCallback(TrainerCallback):
    """Forward logged metrics to `RunCallbacks.on_progress` and stop training when it asks to cancel.

    Progress is reported whenever the trainer logs training metrics, i.e. every `logging_steps` steps, because
    that is when a fresh averaged loss exists. Cancellation is polled after every optimizer step; a cancelled
    run logs and saves a checkpoint at that step so that it can be resumed later.
    """

    def __init__(self, callbacks: RunCallbacks) -> None:
        self.callbacks = callbacks
        self.cancelled = False
        self._start_time: float | None = None
        self._start_step = 0

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        # A resumed run starts at the checkpoint's step; the ETA must only count steps done in this process.
        self._start_time = time.monotonic()
        self._start_step = state.global_step

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.callbacks.should_cancel():
            self.cancelled = True
            control.should_training_stop = True
            control.should_save = True
            control.should_log = True

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        # Evaluation and end-of-training summaries are logged too; only per-step training logs carry "loss".
        if not logs or "loss" not in logs:
            return
        metrics = {key: float(value) for key, value in logs.items() if isinstance(value, int | float)}
        done = state.global_step - self._start_step
        if self._start_time is not None and done > 0:
            per_step = (time.monotonic() - self._start_time) / done
            metrics["eta_seconds"] = per_step * max(state.max_steps - state.global_step, 0)
        self.callbacks.on_progress(state.global_step, state.max_steps, metrics)
