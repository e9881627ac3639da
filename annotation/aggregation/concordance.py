"""Kendall's coefficient of concordance (W) with its chi-square test, for any raters x items matrix."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KendallW:
    """Kendall's coefficient of concordance with its chi-square test.

    ``w`` in [0, 1] (``nan`` when undefined); ``chi2 = m (n - 1) W`` with ``df = n - 1`` (the Friedman
    statistic, tie-corrected when ``tie_corrected``); ``p_value`` from the chi-square approximation.
    """

    w: float
    chi2: float
    df: int
    p_value: float
    n_raters: int
    n_items: int
    tie_corrected: bool


def kendalls_w(ratings: Sequence[Sequence[float]] | np.ndarray, *, tie_correction: bool = True) -> KendallW:
    """Kendall's W for ``m`` raters (rows) who each ranked or scored the same ``n`` items (columns).

    Each row is re-ranked with average ranks for ties (so rank vectors, mid-ranks or any ordinal scores
    work, as long as all raters use the same direction). ``W = 12 S / (m^2 (n^3 - n) - m sum T)`` with
    ``S`` the sum of squared deviations of the item rank sums from their mean and
    ``T = sum (t^3 - t)`` over each rater's tie groups (omitted when ``tie_correction`` is false).
    Rows containing NaN are not allowed (drop incomplete raters first).
    """
    from scipy import stats

    matrix = np.asarray(ratings, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"ratings must be 2-D (raters x items), got shape {matrix.shape}")
    m, n = matrix.shape
    if m < 2 or n < 2:
        raise ValueError("Kendall's W needs at least 2 raters and 2 items")
    if np.isnan(matrix).any():
        raise ValueError("ratings contain NaN")
    ranked = np.vstack([stats.rankdata(row, method="average") for row in matrix])
    rank_sums = ranked.sum(axis=0)
    s = float(((rank_sums - rank_sums.mean()) ** 2).sum())
    tie_term = 0.0
    if tie_correction:
        for row in matrix:
            _, counts = np.unique(row, return_counts=True)
            tie_term += float((counts.astype(np.float64) ** 3 - counts).sum())
    denominator = m * m * (n**3 - n) - m * tie_term
    w = 12.0 * s / denominator if denominator > 0 else float("nan")
    df = n - 1
    chi2 = m * df * w if not math.isnan(w) else float("nan")
    p_value = float(stats.chi2.sf(chi2, df)) if not math.isnan(chi2) else float("nan")
    return KendallW(
        w=w, chi2=chi2, df=df, p_value=p_value, n_raters=m, n_items=n, tie_corrected=tie_correction
    )
