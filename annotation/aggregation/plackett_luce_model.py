"""Plackett-Luce strengths fitted with ``choix``: an alternative to symmetric weighted voting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from annotation.aggregation.rank_vectors import row_is_valid


@dataclass(frozen=True)
class PlackettLuceResult:
    """Plackett-Luce strengths (log-scale, centred, higher = better) for one item.

    Only strict, valid rankings are used (the model has no ties): ``n_used`` of them; ``n_invalid`` were not
    permutations and ``n_tied`` were valid competition rankings with ties, excluded. ``order`` sorts
    responses by strength (ties broken by lower index); best/worst are ``None`` with no usable ranking.
    """

    strengths: tuple[float, ...]
    order: tuple[int, ...]
    best_index: int | None
    worst_index: int | None
    n_used: int
    n_invalid: int
    n_tied: int
    method: str
    alpha: float


def plackett_luce(
    ranks: Sequence[Sequence[object]] | np.ndarray,
    *,
    k: int | None = None,
    method: Literal["opt", "ilsr", "mm"] = "opt",
    alpha: float = 0.01,
) -> PlackettLuceResult:
    """Fit a Plackett-Luce model to one item's rank vectors with ``choix``.

    ``choix`` takes each ranking as a tuple of response indices from winner to loser; rank vectors are
    converted with ``argsort``. ``alpha`` regularises the fit (``opt``: Gaussian prior with variance 1/alpha,
    the MAP estimate; ``ilsr``/``mm``: pseudo-count style), which keeps strengths finite when one response
    wins every ranking (the unregularised maximum-likelihood estimate diverges there). ``k`` defaults to the
    length of the first row.
    """
    import choix  # local import: only this alternative aggregation needs it

    rows = list(ranks) if not isinstance(ranks, np.ndarray) else [list(r) for r in ranks]
    if not rows:
        raise ValueError("no rankings given")
    if k is None:
        k = len(rows[0]) if isinstance(rows[0], Sequence | np.ndarray) else 0
    if k < 2:
        raise ValueError("rankings must cover at least 2 responses")
    data: list[tuple[int, ...]] = []
    n_invalid = 0
    n_tied = 0
    for row in rows:
        if row_is_valid(row, k, allow_ties=False):
            data.append(tuple(int(i) for i in np.argsort(np.asarray(row, dtype=np.int64), kind="stable")))
        elif row_is_valid(row, k, allow_ties=True):
            n_tied += 1
        else:
            n_invalid += 1
    if not data:
        return PlackettLuceResult(
            strengths=(0.0,) * k,
            order=tuple(range(k)),
            best_index=None,
            worst_index=None,
            n_used=0,
            n_invalid=n_invalid,
            n_tied=n_tied,
            method=method,
            alpha=alpha,
        )
    if method == "opt":
        params = choix.opt_rankings(k, data, alpha=alpha)
    elif method == "ilsr":
        params = choix.ilsr_rankings(k, data, alpha=alpha)
    elif method == "mm":
        params = choix.mm_rankings(k, data, alpha=alpha)
    else:
        raise ValueError(f"unknown method {method!r}")
    params = np.asarray(params, dtype=np.float64)
    params = params - params.mean()
    order = tuple(int(i) for i in sorted(range(k), key=lambda i: (-params[i], i)))
    return PlackettLuceResult(
        strengths=tuple(float(p) for p in params),
        order=order,
        best_index=order[0],
        worst_index=order[-1],
        n_used=len(data),
        n_invalid=n_invalid,
        n_tied=n_tied,
        method=method,
        alpha=alpha,
    )
