"""Where and how a judge is called: one OpenAI-compatible endpoint with its deterministic settings.

Persona judge jobs and head-to-head evaluations record the same settings and build their clients from a
:class:`JudgeEndpoint`, so both validate them the same way, once, before any request is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["JudgeEndpoint"]

MAX_TEMPERATURE = 2.0


@dataclass(frozen=True)
class JudgeEndpoint:
    """An OpenAI-compatible chat-completions endpoint, the model behind it and how to call it.

    Construction validates every value and raises ``ValueError`` naming the field; an instance is always
    usable by :class:`judges.client.JudgeClient`.
    """

    base_url: str = field(
        metadata={"help": "Base URL ending before /chat/completions (http:// or https://)."}
    )
    model: str = field(metadata={"help": "Model name the endpoint serves."})
    api_key: str | None = field(
        default=None,
        repr=False,
        compare=False,
        metadata={"help": "Bearer token; only ever sent in the Authorization header, never recorded."},
    )
    temperature: float = field(default=0.0, metadata={"help": "Sampling temperature, 0 to 2 (the study: 0)."})
    seed: int | None = field(default=None, metadata={"help": "Sampling seed sent with every request."})
    max_tokens: int | None = field(
        default=None, metadata={"help": "Answer length limit; None: the server's."}
    )
    json_mode: bool = field(
        default=True, metadata={"help": "Ask for a JSON object; turn off for servers that reject it."}
    )
    timeout_s: float = field(default=120.0, metadata={"help": "Seconds one request may take."})
    max_retries: int = field(default=3, metadata={"help": "Retries after a failed attempt."})
    backoff_base_s: float = field(default=1.0, metadata={"help": "First backoff; doubles per retry."})
    max_concurrency: int = field(default=4, metadata={"help": "Requests in flight at once."})
    requests_per_minute: float | None = field(
        default=None, metadata={"help": "Client-side rate limit; None: no limit."}
    )

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}.")
        if not self.model.strip():
            raise ValueError("model must name the judge model.")
        if not 0.0 <= self.temperature <= MAX_TEMPERATURE:
            raise ValueError(
                f"temperature must be between 0 and {MAX_TEMPERATURE:g}, got {self.temperature}."
            )
        if self.seed is not None and self.seed < 0:
            raise ValueError(f"seed must not be negative, got {self.seed}.")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}.")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}.")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must not be negative, got {self.max_retries}.")
        if self.backoff_base_s < 0:
            raise ValueError(f"backoff_base_s must not be negative, got {self.backoff_base_s}.")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {self.max_concurrency}.")
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise ValueError(
                f"requests_per_minute must be positive (None for no limit), got {self.requests_per_minute}."
            )
