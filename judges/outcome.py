"""How a batch of judge calls ends, and what one test call to an endpoint showed (no Django).

A batch (a judge job, an evaluation's persona judging) succeeded when every call gave a valid answer,
partially succeeded when some failed but no more than a threshold share of those attempted, and failed
when more failed, or when none gave a valid answer. Valid answers of a partial batch are usable; failures
never are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from judges.client import JudgeOutcome
from judges.endpoint import JudgeEndpoint
from judges.pairwise import PairwiseOutcome

__all__ = [
    "FAILED",
    "PARTIAL",
    "SUCCEEDED",
    "EndpointProbe",
    "JudgingTally",
    "endpoint_probe",
    "single_attempt",
]

SUCCEEDED, PARTIAL, FAILED = "succeeded", "partial", "failed"
PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class JudgingTally:
    """Valid and failed answers of a batch; ``threshold`` is the largest failed share of a partial success."""

    valid: int
    failed: int
    threshold: float

    @property
    def attempted(self) -> int:
        return self.valid + self.failed

    @property
    def verdict(self) -> str:
        if not self.valid:
            return FAILED
        if not self.failed:
            return SUCCEEDED
        return PARTIAL if self.failed <= self.threshold * self.attempted else FAILED

    def summary(self, noun: str) -> str:
        """One sentence with the counts, e.g. '3 of 40 judgements failed (8%; at most 10% may fail)...'."""
        if not self.attempted:
            return f"No {noun} were made."
        share = f"{self.failed / self.attempted:.0%}; at most {self.threshold:.0%} may fail"
        if self.verdict == SUCCEEDED:
            return f"All {self.attempted} {noun} are valid."
        if not self.valid:
            return f"All {self.attempted} {noun} failed; there is nothing to use."
        usable = f"the {self.valid} valid ones are used, failures never are"
        return f"{self.failed} of {self.attempted} {noun} failed ({share}); {usable}."


@dataclass(frozen=True)
class EndpointProbe:
    """One request to a judge endpoint: how long it took, its HTTP status, whether the answer parsed."""

    parsed: bool
    http_status: int | None
    latency_s: float
    failure_kind: str | None
    failure_reason: str | None
    prompt_version: str


def single_attempt(endpoint: JudgeEndpoint) -> JudgeEndpoint:
    """The endpoint as a test call uses it: one attempt (no retry), at most PROBE_TIMEOUT_S seconds."""
    return replace(
        endpoint,
        max_retries=0,
        max_concurrency=1,
        requests_per_minute=None,
        timeout_s=min(endpoint.timeout_s, PROBE_TIMEOUT_S),
    )


def endpoint_probe(outcome: JudgeOutcome | PairwiseOutcome) -> EndpointProbe:
    """The probe an outcome of a single-attempt client (no retries) describes."""
    last = outcome.attempt_log[-1] if outcome.attempt_log else None
    return EndpointProbe(
        parsed=outcome.ok,
        http_status=last.status_code if last is not None else None,
        latency_s=last.elapsed_s if last is not None else outcome.elapsed_s,
        failure_kind=outcome.failure_kind,
        failure_reason=outcome.failure_reason,
        prompt_version=outcome.prompt_version,
    )
