"""Rank vectors: which rows are valid (strict or competition ties), coercion of raw rows, orderings."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np


def rank_rows_valid(ranks: np.ndarray, *, allow_ties: bool = False) -> np.ndarray:
    """Boolean mask over the leading dimensions of an integer ``(..., K)`` array: which rows are valid.

    Strict: the row is a permutation of ``1..K``. With ``allow_ties``: the row is a standard competition
    ranking (sorted values ``s`` satisfy ``s[0] == 1`` and ``s[i] in {s[i-1], i+1}``).
    """
    arr = np.asarray(ranks)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"rank arrays must have an integer dtype, got {arr.dtype}")
    k = arr.shape[-1]
    s = np.sort(arr, axis=-1)
    expected = np.arange(1, k + 1, dtype=np.int64)
    if not allow_ties:
        return np.all(s == expected, axis=-1)
    ok = s[..., 0] == 1
    if k > 1:
        same = s[..., 1:] == s[..., :-1]
        starts_group = s[..., 1:] == expected[1:]
        ok &= np.all(same | starts_group, axis=-1)
    return ok


def row_is_valid(row: object, k: int, allow_ties: bool) -> bool:
    """Reference (pure Python) validity check for one row of arbitrary content."""
    if isinstance(row, str | bytes) or not isinstance(row, Sequence | np.ndarray):
        return False
    values = list(row)
    if len(values) != k:
        return False
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            return False
    values = [int(v) for v in values]
    ordered = sorted(values)
    if not allow_ties:
        return ordered == list(range(1, k + 1))
    if ordered[0] != 1:
        return False
    return all(ordered[i] == ordered[i - 1] or ordered[i] == i + 1 for i in range(1, k))


def coerce_rows(rows: Sequence[Sequence[object]], k: int, allow_ties: bool) -> np.ndarray:
    """Rows -> int64 array (n, K); rows that are malformed in shape/type become all-zero (invalid) rows."""
    well_formed = _well_formed(rows, k)
    if well_formed is not None:
        return well_formed
    out = np.zeros((len(rows), k), dtype=np.int64)
    for j, row in enumerate(rows):
        if isinstance(row, str | bytes) or not isinstance(row, Sequence | np.ndarray):
            continue
        values = list(row)
        if len(values) != k or any(
            isinstance(v, bool) or not isinstance(v, int | np.integer) for v in values
        ):
            continue
        # Values are copied even when out of range; range/permutation checks happen in the aggregator.
        # Clip to keep int64 safe for absurd magnitudes (they stay invalid: anything outside 1..K is).
        out[j] = [min(max(int(v), -1), k + 1) for v in values]
    return out


def _well_formed(rows: Sequence[Sequence[object]], k: int) -> np.ndarray | None:
    """The common case in one vectorised step: every row a list of K plain ints (as decoded from JSON).

    Returns the clipped array, or None when any row needs :func:`coerce_rows`'s row-by-row rules. The
    checks run over all rows at once in C (``map``), which is what makes study-scale exports fast.
    """
    if not rows or set(map(type, rows)) != {list} or set(map(len, rows)) != {k}:
        return None
    if set(map(type, chain.from_iterable(rows))) != {int}:
        return None
    try:
        values = np.array(rows, dtype=np.int64)
    except OverflowError:
        return None
    return np.clip(values, -1, k + 1)


def orderings_to_ranks(orderings: Sequence[Sequence[object]] | np.ndarray, *, k: int) -> np.ndarray:
    """Convert orderings (1-based response numbers from best to worst) to rank vectors.

    ``[3, 1, 2]`` (response 3 best, then 1, then 2) becomes ranks ``[2, 3, 1]``. An ordering that is not a
    permutation of ``1..k`` becomes an all-zero row, which every aggregator counts as invalid.
    """
    out = np.zeros((len(orderings), k), dtype=np.int64)
    for j, ordering in enumerate(orderings):
        if not row_is_valid(ordering, k, allow_ties=False):
            continue
        for position, response_number in enumerate(ordering):
            out[j, int(response_number) - 1] = position + 1
    return out
