"""Symmetric weighted-voting points per rank, their exact tie-group means, and the exactness bound."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

#: The study's published voting weights (points for rank 1..K).
STUDY_POINTS: Mapping[int, tuple[int, ...]] = {
    5: (10, 5, 0, -5, -10),
    10: (45, 36, 27, 18, 9, -9, -18, -27, -36, -45),
}

# Largest magnitude that float64 represents exactly: exact integer sums must stay below it.
_EXACT_FLOAT_LIMIT = 2**53


def rank_points(k: int) -> tuple[int, ...]:
    """Symmetric weighted-voting points for ranks ``1..k`` (index 0 = rank 1 = best).

    General rule, derived so that it reproduces both published tables exactly:

    * the best rank gets ``C(k, 2) = k(k-1)/2`` points (10 for k=5, 45 for k=10) and the worst the negative;
    * there are ``m = floor(k/2)`` equally spaced non-zero levels on each side, so the step is
      ``C(k, 2) / m`` = ``k`` for odd ``k`` and ``k - 1`` for even ``k`` (5 for k=5, 9 for k=10);
    * rank ``r`` gets ``step * level(r)`` with ``level(r) = sign(d) * ceil(|d|)``, ``d = (k+1)/2 - r``:
      odd ``k`` gives the middle rank 0 points (k=5: 10, 5, 0, -5, -10); even ``k`` has no middle rank
      and the two central ranks get +step and -step (k=10: 45, 36, 27, 18, 9, -9, ..., -45).

    The table is antisymmetric (points sum to zero) and always integral. ``k < 2`` raises ``ValueError``.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    k = int(k)
    if k < 2:
        raise ValueError(f"rank points need at least 2 responses, got k={k}")
    top = k * (k - 1) // 2
    levels = k // 2
    step = top // levels  # exact: k for odd k, k - 1 for even k
    points = []
    for rank in range(1, k + 1):
        twice_d = (k + 1) - 2 * rank  # 2 * d, an integer
        level = (abs(twice_d) + 1) // 2  # ceil(|d|)
        points.append(step * level * (1 if twice_d > 0 else -1 if twice_d < 0 else 0))
    return tuple(points)


def tie_scale(k: int, allow_ties: bool) -> int:
    """Multiplier that makes every tied-group mean of points an integer (lcm of 1..k), 1 without ties."""
    return math.lcm(*range(1, k + 1)) if allow_ties else 1


def tie_point_table(k: int, scale: int) -> np.ndarray:
    """``table[v-1, c-1]`` = scaled points of each member of a tie group of size ``c`` at rank ``v``."""
    points = rank_points(k)
    table = np.zeros((k, k), dtype=np.int64)
    for v in range(1, k + 1):
        for c in range(1, k - v + 2):
            total = sum(points[v - 1 : v - 1 + c])
            table[v - 1, c - 1] = (total * scale) // c  # exact: c divides scale
    return table


def check_exact_range(points: Sequence[int], scale: int, n_judges: int) -> None:
    """Refuse a batch whose exact scaled sums could exceed what float64 holds exactly."""
    if max(abs(p) for p in points) * scale * max(n_judges, 1) >= _EXACT_FLOAT_LIMIT:
        raise ValueError(
            "too many judges or responses for exact tie-aware aggregation "
            f"(k={len(points)}, judges={n_judges}); disable ties or split the batch"
        )
