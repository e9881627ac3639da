"""Blinding of the clinician study: Bang's blinding index for the post-study guess of which response came
from the trained model.

Bang, Ni & Davis (2004) define the index per trial arm; here the arms are the true positions of the
trained model. No Python package implements it, hence the formula in :func:`bang_blinding_index`.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# scipy is imported when used: the web process should not load it at start-up.


@dataclass(frozen=True)
class BangIndex:
    """Bang's blinding index for one group of guesses, with a Wald interval.

    ``index`` is in [-1, 1]: 0 is what random guessing gives (blinding kept), 1 means every guess was
    correct (unblinded), -1 every guess wrong. ``nan`` with no guesses.
    """

    group: str
    n_correct: int
    n_incorrect: int
    n_dont_know: int
    n: int
    index: float
    se: float
    ci_low: float
    ci_high: float
    confidence_level: float


def bang_blinding_index(
    *,
    n_correct: int,
    n_incorrect: int,
    n_dont_know: int,
    confidence_level: float = 0.95,
    group: str = "all",
) -> BangIndex:
    """Bang's blinding index from counts of correct, incorrect and "don't know" guesses.

    Bang, Ni & Davis (2004), "Assessment of blinding in clinical trials", Controlled Clinical Trials
    25(2):143-156, doi:10.1016/j.cct.2003.10.016. With ``n = n_correct + n_incorrect + n_dont_know``::

        BI = (2 * n_correct / (n_correct + n_incorrect) - 1) * (n_correct + n_incorrect) / n
           = (n_correct - n_incorrect) / n

    i.e. the share of correct minus the share of incorrect guesses, "don't know" counting in the
    denominator. With ``p_c = n_correct / n`` and ``p_i = n_incorrect / n`` its multinomial variance is
    ``(p_c (1 - p_c) + p_i (1 - p_i) + 2 p_c p_i) / n`` and the interval is ``BI +/- z * se`` (as in
    the paper and the R package ``BI``). No Python package implements it, hence the formula here.
    """
    from scipy import stats

    counts = (int(n_correct), int(n_incorrect), int(n_dont_know))
    if min(counts) < 0:
        raise ValueError("counts must be non-negative")
    if not 0 < confidence_level < 1:
        raise ValueError("confidence_level must be in (0, 1)")
    n = sum(counts)
    index = se = z = float("nan")
    if n:
        p_c, p_i = counts[0] / n, counts[1] / n
        index = p_c - p_i
        se = float(np.sqrt((p_c * (1 - p_c) + p_i * (1 - p_i) + 2 * p_c * p_i) / n))
        z = float(stats.norm.ppf(1 - (1 - confidence_level) / 2))
    return BangIndex(
        group=group,
        n_correct=counts[0],
        n_incorrect=counts[1],
        n_dont_know=counts[2],
        n=n,
        index=index,
        se=se,
        ci_low=index - z * se,
        ci_high=index + z * se,
        confidence_level=confidence_level,
    )


class BlindingGuess(NamedTuple):
    """A clinician's guess of the trained model's position and the true position.

    ``guess`` is ``"A"``, ``"B"`` or ``None`` ("don't know"); ``truth`` is ``"A"`` or ``"B"``.
    """

    rater: Hashable
    item: Hashable
    guess: str | None
    truth: str


@dataclass(frozen=True)
class BlindingAssessment:
    """Bang's index pooled over all guesses and per true position (the trial "arms")."""

    overall: BangIndex
    by_truth: dict[str, BangIndex]


def blinding_assessment(
    *, guesses: Iterable[BlindingGuess], confidence_level: float = 0.95
) -> BlindingAssessment:
    """Bang's blinding index for "which response came from the trained model?" guesses.

    A guess is correct when it names the true position, incorrect when it names the other one, and
    "don't know" when ``None``. Bang's index is defined per arm; here the arms are the true positions of
    the trained model (``by_truth["A"]``, ``by_truth["B"]``), and ``overall`` pools all guesses.
    """
    tallies = {"A": [0, 0, 0], "B": [0, 0, 0]}
    for _rater, _item, guess, truth in guesses:
        if truth not in tallies:
            raise ValueError(f"truth must be 'A' or 'B', got {truth!r}")
        if guess is None:
            tallies[truth][2] += 1
        elif guess in ("A", "B"):
            tallies[truth][0 if guess == truth else 1] += 1
        else:
            raise ValueError(f"guess must be 'A', 'B' or None (don't know), got {guess!r}")
    by_truth = {
        truth: bang_blinding_index(
            n_correct=c, n_incorrect=i, n_dont_know=d, confidence_level=confidence_level, group=truth
        )
        for truth, (c, i, d) in tallies.items()
    }
    total = [sum(t[k] for t in tallies.values()) for k in range(3)]
    overall = bang_blinding_index(
        n_correct=total[0], n_incorrect=total[1], n_dont_know=total[2], confidence_level=confidence_level
    )
    return BlindingAssessment(overall=overall, by_truth=by_truth)
