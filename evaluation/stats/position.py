"""Position balance of the blinded study: does a clinician favour the response shown first?

Per clinician, the share of decisive choices that went to the response displayed as "Response A",
with an exact binomial test against 1/2 (``scipy.stats.binomtest``). It needs *position-level* labels,
the ratings as displayed (before :func:`evaluation.stats.ratings.unblind_ratings`).
"""

from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass

from evaluation.stats.ratings import LABELS, Rating
from evaluation.stats.winrates import wilson_interval

# scipy is imported when used: the web process should not load it at start-up.


_LABEL_CODE = {label: code for code, label in enumerate(LABELS)}


@dataclass(frozen=True)
class PositionBalance:
    """How often one clinician chose the response shown in position A.

    ``proportion_a = n_a / (n_a + n_b)`` (ties excluded) with a Wilson interval; ``p_value`` is the
    exact two-sided binomial test against 1/2 (``nan`` with no decisive ratings).
    """

    rater: Hashable
    n_a: int
    n_b: int
    n_ties: int
    proportion_a: float
    ci_low: float
    ci_high: float
    p_value: float


def position_balance(
    *, ratings: Iterable[Rating], criteria: Collection[str] | None = None, alpha: float = 0.05
) -> dict[Hashable, PositionBalance]:
    """Per clinician, the share of decisive choices that went to position A, and a binomial test.

    ``ratings`` must carry *position-level* labels (``"A"`` = the response displayed as Response A),
    i.e. before :func:`unblind_ratings`. All criteria are pooled unless ``criteria`` restricts them;
    missing ratings and ties are left out of the test.
    """
    from scipy import stats

    tallies: dict[Hashable, list[int]] = {}
    for rater, _item, criterion, value in ratings:
        if criteria is not None and criterion not in criteria:
            continue
        tally = tallies.setdefault(rater, [0, 0, 0])
        if value is None:
            continue
        code = _LABEL_CODE.get(value)
        if code is None:
            raise ValueError(f"rating value must be one of {LABELS} or None, got {value!r}")
        tally[code] += 1
    results: dict[Hashable, PositionBalance] = {}
    for rater, (n_a, n_b, n_ties) in tallies.items():
        n = n_a + n_b
        low, high = wilson_interval(successes=n_a, n=n, alpha=alpha)
        p_value = float(stats.binomtest(n_a, n, p=0.5).pvalue) if n else float("nan")
        results[rater] = PositionBalance(
            rater=rater,
            n_a=n_a,
            n_b=n_b,
            n_ties=n_ties,
            proportion_a=n_a / n if n else float("nan"),
            ci_low=low,
            ci_high=high,
            p_value=p_value,
        )
    return results
