"""LLM persona judges: the versioned ranking prompt and an OpenAI-compatible client (Django-free)."""

from annotation.judges.client import AttemptRecord, JudgeClient, JudgeItem, JudgeOutcome, RateLimiter
from annotation.judges.prompts import (
    PROMPT_TEMPLATE_SHA256,
    PROMPT_VERSION,
    CriterionSpec,
    ParsedRankings,
    RankingParseError,
    build_messages,
    criteria_from_dicts,
    parse_rankings,
)

__all__ = [
    "PROMPT_TEMPLATE_SHA256",
    "PROMPT_VERSION",
    "AttemptRecord",
    "CriterionSpec",
    "JudgeClient",
    "JudgeItem",
    "JudgeOutcome",
    "ParsedRankings",
    "RankingParseError",
    "RateLimiter",
    "build_messages",
    "criteria_from_dicts",
    "parse_rankings",
]
