"""Selection and the seeded (optionally stratified) train/test split of imported questions."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from annotation.importers.records import ImportResult, QuestionRecord


def questions_with_min_responses(result: ImportResult, *, k: int) -> list[QuestionRecord]:
    """Questions that have at least ``k`` accepted candidate responses (e.g. k=5 for the study's rankings)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    counts = result.response_counts()
    return [q for q in result.questions if counts[q.external_id] >= k]


@dataclass(frozen=True)
class SplitResult:
    """A deterministic train/test split; both tuples keep the input order."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    seed: int | str


def split_train_test(
    ids: Iterable[str],
    *,
    seed: int | str,
    test_fraction: float | None = None,
    test_count: int | None = None,
    strata: Mapping[str, str] | None = None,
) -> SplitResult:
    """Seeded split of ids into train/test, by fraction or exact count (the study: ``test_count=600``).

    Each id is ranked by ``sha256(f"{seed}\\x1f{id}")`` and the lowest ``n_test`` go to test, so the split
    depends only on the seed and the set of ids: not on input order, Python/numpy versions or platform,
    and adding ids never moves an existing id from test to train unless it displaces it by rank.
    ``n_test = round_half_up(test_fraction * n)`` when a fraction is given. Duplicate ids raise.

    With ``strata`` (id -> stratum, every id needed) each stratum gives test its share of ``n_test``
    (:func:`stratum_quotas`: within 1 of exact, summing to ``n_test``): its lowest-ranked ids, same hash.
    """
    items = [str(i) for i in ids]
    if len(set(items)) != len(items):
        raise ValueError("ids must be unique")
    if (test_fraction is None) == (test_count is None):
        raise ValueError("give exactly one of test_fraction or test_count")
    n = len(items)
    if test_fraction is not None:
        if not 0.0 <= test_fraction <= 1.0:
            raise ValueError("test_fraction must be within [0, 1]")
        n_test = int(test_fraction * n + 0.5)
    else:
        assert test_count is not None
        if not 0 <= test_count <= n:
            raise ValueError(f"test_count must be within [0, {n}]")
        n_test = test_count
    groups: dict[str, list[str]] = {"": items}
    if strata is not None:
        missing = [i for i in items if i not in strata]
        if missing:
            raise ValueError(f"{len(missing)} ids have no stratum, e.g. {missing[0]!r}")
        groups = defaultdict(list)
        for i in items:
            groups[str(strata[i])].append(i)
    quotas = stratum_quotas({name: len(group) for name, group in groups.items()}, n_test)
    test_set: set[str] = set()
    for name, group in groups.items():
        ranked = sorted(group, key=lambda i: (hashlib.sha256(f"{seed}\x1f{i}".encode()).hexdigest(), i))
        test_set.update(ranked[: quotas[name]])
    return SplitResult(
        train=tuple(i for i in items if i not in test_set),
        test=tuple(i for i in items if i in test_set),
        seed=seed,
    )


def stratum_quotas(sizes: Mapping[str, int], total: int) -> dict[str, int]:
    """Share of ``total`` for each stratum, proportional to its size, by largest remainder.

    Each stratum gets the floor of its exact share ``total * size / n``; the units left over go to the
    largest fractional remainders (ties: the larger stratum, then the name), so the quotas sum to ``total``
    and each is within 1 of exact. Exact arithmetic (fractions), so the result depends on no float rounding.
    """
    n = sum(sizes.values())
    if n == 0:
        return dict.fromkeys(sizes, 0)
    exact = {name: Fraction(total * size, n) for name, size in sizes.items()}
    quotas = {name: int(share) for name, share in exact.items()}
    left = total - sum(quotas.values())
    by_remainder = sorted(exact, key=lambda name: (-(exact[name] - quotas[name]), -sizes[name], name))
    for name in by_remainder[:left]:
        quotas[name] += 1
    return quotas
