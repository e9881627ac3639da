"""LLM judge vs clinicians (study step 10): does the judge agree with clinicians as often as they do?

The study reports 70.3% judge-clinician vs 65.5% clinician-clinician agreement on overall preference.
Both rates come with Wilson intervals, and their difference with a seeded bootstrap interval over items
(``scipy.stats.bootstrap``), which respects the clustering of ratings within items.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from evaluation.stats.agreement import AgreementProportion, agreement_proportion, pair_counts
from evaluation.stats.ratings import RatingMatrix

# scipy is imported when used: the web process should not load it at start-up.


@dataclass(frozen=True)
class JudgeAgreement:
    """Judge-clinician vs clinician-clinician agreement on the same items.

    ``difference = judge_clinician.estimate - clinician_clinician.estimate``; its interval is a
    bootstrap over items (``method``, ``n_resamples``, ``seed``), ``nan`` with fewer than two items.
    """

    criterion: str
    n_items: int
    judge_clinician: AgreementProportion
    clinician_clinician: AgreementProportion
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    confidence_level: float
    n_resamples: int
    seed: int
    method: str


def _ratio_difference(
    judge_agree: NDArray[np.float64],
    judge_pairs: NDArray[np.float64],
    clin_agree: NDArray[np.float64],
    clin_pairs: NDArray[np.float64],
    axis: int = -1,
) -> NDArray[np.float64]:
    return judge_agree.sum(axis=axis) / judge_pairs.sum(axis=axis) - clin_agree.sum(
        axis=axis
    ) / clin_pairs.sum(axis=axis)


def judge_vs_clinicians(
    *,
    matrix: RatingMatrix,
    judge: Mapping[Hashable, Hashable],
    alpha: float = 0.05,
    n_resamples: int = 9999,
    seed: int = 0,
    method: Literal["percentile", "basic", "BCa"] = "percentile",
) -> JudgeAgreement:
    """Compare LLM-judge-vs-clinician agreement with clinician-vs-clinician agreement.

    ``judge`` maps item -> the judge's label on ``matrix.criterion`` (same coding as the clinicians,
    e.g. the persona majority vote). Both rates use the same items: those with a judge label and at
    least two clinician ratings (other items are ignored).

    - judge-clinician: share of (item, clinician) combinations where the clinician's label equals
      the judge's;
    - clinician-clinician: pairwise percent agreement on those items
      (:func:`evaluation.stats.agreement.percent_agreement`).

    Both get Wilson intervals (optimistic; see :class:`AgreementProportion`). The interval for the
    difference resamples items with replacement (``scipy.stats.bootstrap``, paired, seeded with
    ``numpy.random.default_rng(seed)``) and recomputes both pooled rates on each resample, so it
    respects the clustering of ratings within items.
    """
    from scipy import stats

    column = {item: i for i, item in enumerate(matrix.items)}
    counts = matrix.category_counts()
    m = counts.sum(axis=1)
    idx: list[int] = []
    judge_codes: list[int] = []
    for item, label in judge.items():
        code = matrix.code_of(label)  # validates every judge label, used or not
        i = column.get(item)
        if i is not None and m[i] >= 2:
            idx.append(i)
            judge_codes.append(code)
    sel = np.array(idx, dtype=int)
    sub = counts[sel]
    judge_agree = sub[np.arange(len(sel)), np.array(judge_codes, dtype=int)].astype(float)
    judge_pairs = m[sel].astype(float)
    clin_agree, clin_pairs = (a.astype(float) for a in pair_counts(sub))
    n_items = len(sel)
    jc = agreement_proportion(
        successes=int(judge_agree.sum()), n=int(judge_pairs.sum()), n_items=n_items, alpha=alpha
    )
    cc = agreement_proportion(
        successes=int(clin_agree.sum()), n=int(clin_pairs.sum()), n_items=n_items, alpha=alpha
    )
    difference = jc.estimate - cc.estimate
    low = high = float("nan")
    if n_items >= 2:
        res = stats.bootstrap(
            (judge_agree, judge_pairs, clin_agree, clin_pairs),
            _ratio_difference,
            n_resamples=n_resamples,
            paired=True,
            vectorized=True,
            confidence_level=1 - alpha,
            method=method,
            rng=np.random.default_rng(seed),
        )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return JudgeAgreement(
        criterion=matrix.criterion,
        n_items=n_items,
        judge_clinician=jc,
        clinician_clinician=cc,
        difference=difference,
        difference_ci_low=low,
        difference_ci_high=high,
        confidence_level=1 - alpha,
        n_resamples=n_resamples,
        seed=seed,
        method=method,
    )
