"""Selection and the seeded train/test split of imported questions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

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
) -> SplitResult:
    """Seeded split of ids into train/test, by fraction or exact count (the study: ``test_count=600``).

    Each id is ranked by ``sha256(f"{seed}\\x1f{id}")`` and the lowest ``n_test`` go to test, so the split
    depends only on the seed and the set of ids: not on input order, Python/numpy versions or platform,
    and adding ids never moves an existing id from test to train unless it displaces it by rank.
    ``n_test = round_half_up(test_fraction * n)`` when a fraction is given. Duplicate ids raise.
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
    ranked = sorted(items, key=lambda i: (hashlib.sha256(f"{seed}\x1f{i}".encode()).hexdigest(), i))
    test_set = set(ranked[:n_test])
    return SplitResult(
        train=tuple(i for i in items if i not in test_set),
        test=tuple(i for i in items if i in test_set),
        seed=seed,
    )
