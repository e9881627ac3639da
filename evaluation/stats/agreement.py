"""Clinician-clinician agreement per criterion of the blinded study (study step 10).

- pairwise **percent agreement** over rater pairs sharing an item, with a Wilson interval;
- **Cohen's kappa** for every pair of clinicians (``sklearn.metrics.cohen_kappa_score``) and their
  mean (Light's kappa);
- **Fleiss' kappa** (``statsmodels.stats.inter_rater.fleiss_kappa`` on ``aggregate_raters`` counts),
  which needs the same number of raters on every item -- see :func:`fleiss_kappa_modal` for the rule;
- **Krippendorff's alpha**, nominal (``krippendorff.alpha``), which uses every rating and handles
  missing data natively.

Compute them on model-level labels (see :mod:`evaluation.stats.ratings` on coding).
"""

import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import krippendorff
import numpy as np
from numpy.typing import NDArray

from evaluation.stats.ratings import LABELS, Rating, RatingMatrix, rating_matrices
from evaluation.stats.winrates import wilson_interval

# sklearn and statsmodels are imported when used: the web process should not load them at start-up.


@dataclass(frozen=True)
class AgreementProportion:
    """An agreement rate ``successes / n`` over rating pairs, with a Wilson interval.

    The pairs share items and raters, so they are not independent; the Wilson interval treats them as
    if they were and is therefore optimistic (too narrow). The bootstrap over items in
    :func:`evaluation.stats.judge_agreement.judge_vs_clinicians` accounts for the clustering.
    """

    successes: int
    n: int
    n_items: int
    estimate: float
    ci_low: float
    ci_high: float


def agreement_proportion(*, successes: int, n: int, n_items: int, alpha: float) -> AgreementProportion:
    """``successes / n`` with its Wilson interval; the estimate is ``nan`` when ``n`` is 0."""
    low, high = wilson_interval(successes=successes, n=n, alpha=alpha)
    return AgreementProportion(
        successes=successes,
        n=n,
        n_items=n_items,
        estimate=successes / n if n else float("nan"),
        ci_low=low,
        ci_high=high,
    )


def pair_counts(counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per item: (agreeing rater pairs, all rater pairs) from items x categories counts."""
    m = counts.sum(axis=1)
    agreeing = (counts * (counts - 1) // 2).sum(axis=1)
    return agreeing, m * (m - 1) // 2


def percent_agreement(*, matrix: RatingMatrix, alpha: float = 0.05) -> AgreementProportion:
    """Pairwise percent agreement: the share of (item, rater pair) combinations with equal labels.

    Every pair of raters who both rated an item counts once, so an item rated by ``m`` raters weighs
    ``m (m - 1) / 2``; with a constant number of raters this equals Fleiss' mean observed agreement
    ``P-bar``. Items with fewer than two ratings do not contribute.
    """
    agreeing, pairs = pair_counts(matrix.category_counts())
    return agreement_proportion(
        successes=int(agreeing.sum()), n=int(pairs.sum()), n_items=int((pairs > 0).sum()), alpha=alpha
    )


@dataclass(frozen=True)
class PairwiseKappa:
    """Cohen's kappa of two raters over the items both rated (``nan`` when undefined)."""

    rater_1: Hashable
    rater_2: Hashable
    n_items: int
    percent_agreement: float
    kappa: float


def pairwise_cohen_kappa(*, matrix: RatingMatrix) -> tuple[PairwiseKappa, ...]:
    """Cohen's kappa (``sklearn.metrics.cohen_kappa_score``) for every pair of raters.

    Each pair uses only the items both raters rated. Kappa is ``nan`` with no shared items, or when
    chance agreement is 1 (both raters used one and the same label throughout).
    """
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import cohen_kappa_score

    results: list[PairwiseKappa] = []
    for r1, r2 in combinations(range(len(matrix.raters)), 2):
        x, y = matrix.codes[r1], matrix.codes[r2]
        shared = ~np.isnan(x) & ~np.isnan(y)
        n = int(shared.sum())
        if n == 0:
            kappa = pa = float("nan")
        else:
            xs, ys = x[shared].astype(int), y[shared].astype(int)
            pa = float(np.mean(xs == ys))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                kappa = float(
                    cohen_kappa_score(xs, ys, labels=matrix.label_codes, replace_undefined_by=np.nan)
                )
        results.append(
            PairwiseKappa(
                rater_1=matrix.raters[r1],
                rater_2=matrix.raters[r2],
                n_items=n,
                percent_agreement=pa,
                kappa=kappa,
            )
        )
    return tuple(results)


@dataclass(frozen=True)
class FleissResult:
    """Fleiss' kappa over the items rated by exactly ``raters_per_item`` raters.

    ``n_items_excluded`` counts the items with two or more ratings that were left out because they had
    a different number of raters.
    """

    kappa: float
    n_items: int
    raters_per_item: int
    n_items_excluded: int


def fleiss_kappa_modal(*, matrix: RatingMatrix) -> FleissResult:
    """Fleiss' kappa (1971) restricted to the items with the modal number of raters.

    Fleiss' kappa assumes every item has the same number of raters. Rule: among items with at least
    two ratings, take the most common number of raters (the largest such number if several are equally
    common) and use exactly the items with that many ratings; the others are reported as excluded.
    Krippendorff's alpha (:func:`krippendorff_alpha_nominal`) uses all ratings. ``kappa`` is ``nan``
    when no item qualifies or chance agreement is 1 (all ratings identical).
    """
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    present = ~np.isnan(matrix.codes)
    per_item = present.sum(axis=0)
    rated = per_item >= 2
    if not rated.any():
        return FleissResult(kappa=float("nan"), n_items=0, raters_per_item=0, n_items_excluded=0)
    values, frequency = np.unique(per_item[rated], return_counts=True)
    modal = int(values[frequency == frequency.max()].max())
    use = per_item == modal
    # subjects x raters array of category codes, ratings of each item packed to the left
    data = np.array(
        [matrix.codes[present[:, i], i].astype(int) for i in np.flatnonzero(use)], dtype=int
    ).reshape(-1, modal)
    table, _ = aggregate_raters(data, n_cat=len(matrix.labels))
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = float(fleiss_kappa(table, method="fleiss"))
    return FleissResult(
        kappa=kappa,
        n_items=int(use.sum()),
        raters_per_item=modal,
        n_items_excluded=int(rated.sum() - use.sum()),
    )


def krippendorff_alpha_nominal(*, matrix: RatingMatrix) -> float:
    """Krippendorff's alpha at the nominal level (``krippendorff.alpha``), missing ratings allowed.

    ``nan`` when no item has two ratings or all ratings are identical (expected disagreement 0).
    """
    pairable = (~np.isnan(matrix.codes)).sum(axis=0) >= 2
    if not pairable.any():
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = krippendorff.alpha(
            reliability_data=matrix.codes[:, pairable],
            level_of_measurement="nominal",
            value_domain=matrix.label_codes,
        )
    return float(value)


@dataclass(frozen=True)
class CriterionAgreement:
    """All clinician-clinician agreement statistics of one criterion.

    ``n_items`` counts items with at least two ratings; ``mean_cohen_kappa`` is Light's kappa, the mean
    of the defined pairwise Cohen's kappas.
    """

    criterion: str
    n_raters: int
    n_items: int
    n_ratings: int
    percent_agreement: AgreementProportion
    cohen: tuple[PairwiseKappa, ...]
    mean_cohen_kappa: float
    fleiss: FleissResult
    krippendorff_alpha: float


def criterion_agreement(*, matrix: RatingMatrix, alpha: float = 0.05) -> CriterionAgreement:
    """Percent agreement, pairwise Cohen's kappa, Fleiss' kappa and Krippendorff's alpha."""
    present = ~np.isnan(matrix.codes)
    cohen = pairwise_cohen_kappa(matrix=matrix)
    kappas = np.array([c.kappa for c in cohen], dtype=float)
    defined = kappas[~np.isnan(kappas)]
    return CriterionAgreement(
        criterion=matrix.criterion,
        n_raters=int(present.any(axis=1).sum()),
        n_items=int((present.sum(axis=0) >= 2).sum()),
        n_ratings=int(present.sum()),
        percent_agreement=percent_agreement(matrix=matrix, alpha=alpha),
        cohen=cohen,
        mean_cohen_kappa=float(defined.mean()) if defined.size else float("nan"),
        fleiss=fleiss_kappa_modal(matrix=matrix),
        krippendorff_alpha=krippendorff_alpha_nominal(matrix=matrix),
    )


def agreement_by_criterion(
    *, ratings: Iterable[Rating], labels: Sequence[Hashable] = LABELS, alpha: float = 0.05
) -> dict[str, CriterionAgreement]:
    """:func:`criterion_agreement` for every criterion present in ``ratings``."""
    return {
        criterion: criterion_agreement(matrix=matrix, alpha=alpha)
        for criterion, matrix in rating_matrices(ratings=ratings, labels=labels).items()
    }
