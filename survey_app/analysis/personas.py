"""Personas from complete responses: the text, a quality score, diverse selection and a stratified split.

Pure functions over plain data (no database), so every figure can be checked by hand.

Quality = 0.4 completeness + 0.4 consistency + 0.2 attention, each in [0, 1]:
- completeness: the share of persona fields with a substantive answer ('Prefer not to say' and
  incomplete grids count as missing);
- consistency: among pairs of ranked criteria whose importance ratings differ, the share the ranking
  orders the same way (the more important one ranked higher); 1 when no pair differs;
- attention: 1 if every attention check was passed, else 0.
"""

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from survey_app import instrument as keys

QUALITY_WEIGHTS = {"completeness": 0.4, "consistency": 0.4, "attention": 0.2}
PERSONA_FIELDS = (
    keys.AGE_GROUP,
    keys.GENDER,
    keys.ETHNICITY,
    keys.DIAGNOSES,
    keys.SEVERITY,
    keys.CURRENT_TREATMENT,
    keys.CHATBOT_EXPERIENCE,
    *keys.ATTITUDES,
    keys.IMPORTANCE,
    keys.RANKING,
)
CATEGORICAL_FEATURES = (keys.AGE_GROUP, keys.GENDER, keys.SEVERITY, keys.CHATBOT_EXPERIENCE)


@dataclass(frozen=True)
class ResponseData:
    """One complete response as analyses need it: stored values by item key, and the labels and prompts of
    the instrument version it answered."""

    answers: Mapping[str, Any]
    labels: Mapping[str, Mapping[str, str]]
    prompts: Mapping[str, str]
    criteria: Sequence[tuple[str, str]]  # (key, name) in the criteria set's order
    rankable: Sequence[str]
    attention_failures: int = 0
    instrument_version: int = 1

    def label(self, key: str, value: str) -> str:
        return self.labels.get(key, {}).get(str(value), str(value))

    @property
    def criterion_names(self) -> dict[str, str]:
        return dict(self.criteria)


def _substantive(response: ResponseData, key: str) -> bool:
    value = response.answers.get(key)
    if value in (None, "", [], {}):
        return False
    if key == keys.IMPORTANCE:
        return all(criterion in value for criterion, _ in response.criteria)
    if key == keys.RANKING:
        return sorted(value.get(c, 0) for c in response.rankable) == list(
            range(1, len(response.rankable) + 1)
        )
    if isinstance(value, list):
        return value != [keys.PREFER_NOT_TO_SAY]
    return value != keys.PREFER_NOT_TO_SAY


def completeness(response: ResponseData) -> float:
    return sum(_substantive(response, key) for key in PERSONA_FIELDS) / len(PERSONA_FIELDS)


def consistency(response: ResponseData) -> float:
    importance = response.answers.get(keys.IMPORTANCE) or {}
    ranks = response.answers.get(keys.RANKING) or {}
    concordant = discordant = 0
    for a, b in combinations([c for c in response.rankable if c in importance and c in ranks], 2):
        if importance[a] == importance[b]:
            continue
        if (importance[a] > importance[b]) == (ranks[a] < ranks[b]):
            concordant += 1
        else:
            discordant += 1
    return 1.0 if concordant + discordant == 0 else concordant / (concordant + discordant)


@dataclass(frozen=True)
class Quality:
    completeness: float
    consistency: float
    attention: float

    @property
    def score(self) -> float:
        return round(
            QUALITY_WEIGHTS["completeness"] * self.completeness
            + QUALITY_WEIGHTS["consistency"] * self.consistency
            + QUALITY_WEIGHTS["attention"] * self.attention,
            4,
        )


def quality(response: ResponseData) -> Quality:
    return Quality(
        completeness=round(completeness(response), 4),
        consistency=round(consistency(response), 4),
        attention=1.0 if response.attention_failures == 0 else 0.0,
    )


def primary_preference(response: ResponseData) -> str:
    ranks = response.answers.get(keys.RANKING) or {}
    return next((criterion for criterion, rank in ranks.items() if rank == 1), "")


def features(response: ResponseData) -> dict[str, Any]:
    """The answers a persona is written from, in a form the diversity selection can use."""
    return {
        "importance": dict(response.answers.get(keys.IMPORTANCE) or {}),
        "ranking": dict(response.answers.get(keys.RANKING) or {}),
        **{key: response.answers.get(key, "") for key in CATEGORICAL_FEATURES},
        "attitudes": {key: response.answers.get(key) for key in keys.ATTITUDES},
    }


def _join(labels: Sequence[str]) -> str:
    return ", ".join(labels) if labels else "none given"


def _choice(response: ResponseData, key: str) -> str:
    value = response.answers.get(key)
    if value in (None, ""):
        return "not answered"
    if value == keys.PREFER_NOT_TO_SAY:
        return "prefers not to say"
    return response.label(key, value)


def _choices(response: ResponseData, key: str) -> str:
    values = response.answers.get(key) or []
    if values == [keys.PREFER_NOT_TO_SAY]:
        return "prefers not to say"
    return _join([response.label(key, value) for value in values])


def persona_text(response: ResponseData) -> str:
    """A structured persona: demographics, background, therapy preferences with ratings, AI attitudes."""
    names = response.criterion_names
    importance = response.answers.get(keys.IMPORTANCE) or {}
    ranks = response.answers.get(keys.RANKING) or {}
    ranked = sorted(ranks, key=lambda criterion: ranks[criterion])
    attitudes = []
    for key in keys.ATTITUDES:
        value = response.answers.get(key)
        if value is not None:
            attitudes.append(
                f'"{response.prompts.get(key, key)}" {value}/5 ({keys.LIKERT_LABELS[str(value)]})'
            )
    lines = [
        "Patient persona",
        f"Demographics: age group {_choice(response, keys.AGE_GROUP)}; "
        f"gender {_choice(response, keys.GENDER)}; ethnicity {_choices(response, keys.ETHNICITY)}.",
        f"Mental-health background: experience of {_choices(response, keys.DIAGNOSES)}; severity at worst "
        f"{_choice(response, keys.SEVERITY)}; current treatment or support "
        f"{_choice(response, keys.CURRENT_TREATMENT)}.",
        f"Use of chatbots or AI for emotional support: {_choice(response, keys.CHATBOT_EXPERIENCE)}.",
        "Therapy preferences, importance from 1 (not at all) to 5 (extremely): "
        + "; ".join(f"{names[c]} {importance[c]}" for c, _ in response.criteria if c in importance)
        + ".",
        "Therapeutic qualities in order of importance: "
        + ", ".join(f"{position}. {names.get(c, c)}" for position, c in enumerate(ranked, start=1))
        + ".",
        "Attitudes to AI in mental health, from 1 (strongly disagree) to 5 (strongly agree): "
        + "; ".join(attitudes)
        + ".",
        f"Areas where AI could help: {_choices(response, keys.AI_HELP_AREAS)}. "
        f"Aspects of care AI could help with: {_choices(response, keys.AI_HELP_ASPECTS)}.",
    ]
    return "\n".join(lines)


# ---- selection and split ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    id: int
    quality: float
    stratum: str
    features: Mapping[str, Any]


def feature_matrix(
    candidates: Sequence[Candidate], *, criteria: Sequence[str], rankable: Sequence[str]
) -> np.ndarray:
    """Rows in [0, 1]: importance (r-1)/4, rank position (n-rank)/(n-1), one-hot demographics and
    background."""
    levels = {key: sorted({str(c.features.get(key, "")) for c in candidates}) for key in CATEGORICAL_FEATURES}
    span = max(len(rankable) - 1, 1)
    rows = []
    for candidate in candidates:
        importance = candidate.features.get("importance", {})
        ranking = candidate.features.get("ranking", {})
        row = [(importance.get(c, 3) - 1) / 4 for c in criteria]
        row += [(len(rankable) - ranking.get(c, len(rankable))) / span for c in rankable]
        for key, values in levels.items():
            row += [1.0 if str(candidate.features.get(key, "")) == value else 0.0 for value in values]
        rows.append(row)
    return np.asarray(rows, dtype=float).reshape(len(candidates), -1)


def select_diverse(
    candidates: Sequence[Candidate], matrix: np.ndarray, *, n: int, min_quality: float
) -> list[int]:
    """Max-min (farthest-point) selection among candidates of at least `min_quality`.

    Starts from the highest-quality persona; each next pick is the one farthest from everything picked so
    far (ties: higher quality, then lower id). Deterministic. Returns ids in pick order.
    """
    pool = [index for index, c in enumerate(candidates) if c.quality >= min_quality]
    if n > len(pool):
        raise ValueError(f"Only {len(pool)} personas reach quality {min_quality}; cannot select {n}.")
    if n <= 0:
        return []
    pool.sort(key=lambda index: (-candidates[index].quality, candidates[index].id))
    picked = [pool[0]]
    nearest = np.linalg.norm(matrix[pool] - matrix[pool[0]], axis=1)
    remaining = np.ones(len(pool), dtype=bool)
    remaining[0] = False
    while len(picked) < n:
        # pool is sorted by (-quality, id), so argmax's first-maximum rule breaks ties as documented.
        best = int(np.argmax(np.where(remaining, np.round(nearest, 9), -1.0)))
        remaining[best] = False
        picked.append(pool[best])
        nearest = np.minimum(nearest, np.linalg.norm(matrix[pool] - matrix[pool[best]], axis=1))
    return [candidates[index].id for index in picked]


def split_allocation(*, stratum_sizes: Mapping[str, int], n_test: int) -> dict[str, int]:
    """How many of each stratum go to test: proportional, rounded by largest remainder (Hamilton), so the
    test set has exactly `n_test` members. Ties in the remainder go to the larger stratum, then by name."""
    total = sum(stratum_sizes.values())
    if not 0 <= n_test <= total:
        raise ValueError(f"The test set must have between 0 and {total} members.")
    if total == 0:
        return {}
    exact = {stratum: n_test * size / total for stratum, size in stratum_sizes.items()}
    allocation = {stratum: int(value) for stratum, value in exact.items()}
    leftover = n_test - sum(allocation.values())
    order = sorted(exact, key=lambda s: (-(exact[s] - allocation[s]), -stratum_sizes[s], s))
    for stratum in order[:leftover]:
        allocation[stratum] += 1
    return allocation


def stratified_split(candidates: Sequence[Candidate], *, n_test: int, seed: int) -> dict[int, str]:
    """Assign each candidate to 'train' or 'test', stratified by `stratum` (the primary preference)."""
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for candidate in candidates:
        by_stratum[candidate.stratum].append(candidate.id)
    allocation = split_allocation(stratum_sizes={s: len(ids) for s, ids in by_stratum.items()}, n_test=n_test)
    rng = random.Random(seed)
    split = {}
    for stratum in sorted(by_stratum):
        ids = sorted(by_stratum[stratum])
        rng.shuffle(ids)
        for position, persona_id in enumerate(ids):
            split[persona_id] = "test" if position < allocation[stratum] else "train"
    return split
