"""Test helpers shared by the ML package tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordingCallbacks:
    """Records progress reports; asks to cancel at the end of step `cancel_at_step` of this run."""

    cancel_at_step: int | None = None
    progress: list[tuple[int, int, dict[str, float]]] = field(default_factory=list)
    cancel_checks: int = 0

    def on_progress(self, step: int, total: int, metrics: dict[str, float]) -> None:
        self.progress.append((step, total, metrics))

    def should_cancel(self) -> bool:
        # Polled once per optimizer step, so the n-th poll happens at the end of the n-th step of this run.
        self.cancel_checks += 1
        return self.cancel_at_step is not None and self.cancel_checks >= self.cancel_at_step
