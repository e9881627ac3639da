"""Agreement statistics for the blinded clinician study (study step 10).

Clinicians compare two responses ("Response A" / "Response B") per item and criterion and answer
``"A"``, ``"B"`` or ``"tie"``; a clinician may skip items (missing ratings). Per criterion this module
computes:

- pairwise **percent agreement** over rater pairs sharing an item, with a Wilson interval;
- **Cohen's kappa** for every pair of clinicians (``sklearn.metrics.cohen_kappa_score``) and their
  mean (Light's kappa);
- **Fleiss' kappa** (``statsmodels.stats.inter_rater.fleiss_kappa`` on ``aggregate_raters`` counts),
  which needs the same number of raters on every item -- see :func:`fleiss_kappa_modal` for the rule;
- **Krippendorff's alpha**, nominal (``krippendorff.alpha``), which uses every rating and handles
  missing data natively;
- **LLM judge vs clinicians**: how often the judge agrees with a clinician compared with how often
  two clinicians agree (the study: 70.3% vs 65.5% on overall preference), with Wilson intervals and a
  seeded bootstrap interval over items for the difference (``scipy.stats.bootstrap``);
- **position balance** per clinician (how often the chosen response was shown in position A; exact
  binomial test against 1/2, ``scipy.stats.binomtest``);
- **Bang's blinding index** for the post-study guess of which response came from the trained model.

Coding. The statistics accept whatever labels they are given, but the labels must be consistent
across raters. Position balance needs *position-level* labels (as displayed). Agreement should be
computed on *model-level* labels (``"A"`` = model A, after :func:`unblind_ratings`): when the display
order is randomised per clinician, position labels of two clinicians do not refer to the same model;
and even with one order per item, kappa and alpha depend on the category margins, which differ
between the two codings. Percent agreement is unaffected by a per-item relabelling.
"""

import warnings
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal, NamedTuple

import krippendorff
import numpy as np
from numpy.typing import NDArray
from scipy import stats
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from evaluation.stats.winrates import to_model_outcome, wilson_interval

LABELS: tuple[str, ...] = ("A", "B", "tie")
_LABEL_CODE = {label: code for code, label in enumerate(LABELS)}


class Rating(NamedTuple):
    """One clinician's answer for one item and criterion; ``value=None`` records a skipped rating."""

    rater: Hashable
    item: Hashable
    criterion: str
    value: Hashable | None


@dataclass(frozen=True, eq=False)
class RatingMatrix:
    """Ratings of one criterion as a raters x items array of label codes (``nan`` = missing).

    ``codes[r, i]`` is the index into ``labels`` (the nominal categories, :data:`LABELS` by default)
    of rater ``raters[r]``'s rating of ``items[i]``.
    """

    criterion: str
    raters: tuple[Hashable, ...]
    items: tuple[Hashable, ...]
    codes: NDArray[np.float64]
    labels: tuple[Hashable, ...] = LABELS

    @property
    def label_codes(self) -> list[int]:
        """The codes ``0 .. len(labels) - 1``."""
        return list(range(len(self.labels)))

    def code_of(self, label: Hashable) -> int:
        """The code of ``label`` (``ValueError`` if it is not one of ``labels``)."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise ValueError(f"label must be one of {self.labels}, got {label!r}") from None

    def category_counts(self) -> NDArray[np.int64]:
        """Items x categories: how many raters gave each label to each item."""
        return np.stack([(self.codes == c).sum(axis=0) for c in self.label_codes], axis=1).astype(np.int64)


def rating_matrices(
    *, ratings: Iterable[Rating], labels: Sequence[Hashable] = LABELS
) -> dict[str, RatingMatrix]:
    """Split ratings by criterion into :class:`RatingMatrix` objects (one pass over the ratings).

    Raters and items keep their first-seen order and are shared by all criteria (a rater or item
    without ratings on a criterion is an all-missing row or column there). ``None`` values are missing;
    other values outside ``labels`` (default :data:`LABELS`; other nominal category sets are allowed)
    raise ``ValueError``, as does a rater rating the same item twice on one criterion.
    """
    labels = tuple(labels)
    if len(set(labels)) != len(labels) or len(labels) < 2:
        raise ValueError("labels must be at least two distinct categories")
    label_code = {label: code for code, label in enumerate(labels)}
    raters: dict[Hashable, int] = {}
    items: dict[Hashable, int] = {}
    cells: dict[str, dict[tuple[int, int], int]] = {}
    for rater, item, criterion, value in ratings:
        r = raters.setdefault(rater, len(raters))
        i = items.setdefault(item, len(items))
        per_criterion = cells.setdefault(criterion, {})
        if (r, i) in per_criterion:
            raise ValueError(f"rater {rater!r} rated item {item!r} twice on {criterion!r}")
        if value is None:
            per_criterion[(r, i)] = -1
            continue
        code = label_code.get(value)
        if code is None:
            raise ValueError(f"rating value must be one of {labels} or None, got {value!r}")
        per_criterion[(r, i)] = code
    matrices: dict[str, RatingMatrix] = {}
    for criterion, per_criterion in cells.items():
        codes = np.full((len(raters), len(items)), np.nan)
        for (r, i), code in per_criterion.items():
            if code >= 0:
                codes[r, i] = code
        matrices[criterion] = RatingMatrix(
            criterion=criterion, raters=tuple(raters), items=tuple(items), codes=codes, labels=labels
        )
    return matrices


def rating_matrix(
    *, ratings: Iterable[Rating], criterion: str, labels: Sequence[Hashable] = LABELS
) -> RatingMatrix:
    """The :class:`RatingMatrix` of one criterion (see :func:`rating_matrices`)."""
    matrices = rating_matrices(ratings=ratings, labels=labels)
    if criterion not in matrices:
        raise ValueError(f"no ratings for criterion {criterion!r}")
    return matrices[criterion]


# --------------------------------------------------------------------------------------------------
# Clinician-clinician agreement
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementProportion:
    """An agreement rate ``successes / n`` over rating pairs, with a Wilson interval.

    The pairs share items and raters, so they are not independent; the Wilson interval treats them as
    if they were and is therefore optimistic (too narrow). The bootstrap over items in
    :func:`judge_vs_clinicians` accounts for the clustering.
    """

    successes: int
    n: int
    n_items: int
    estimate: float
    ci_low: float
    ci_high: float


def _proportion(*, successes: int, n: int, n_items: int, alpha: float) -> AgreementProportion:
    low, high = wilson_interval(successes=successes, n=n, alpha=alpha)
    return AgreementProportion(
        successes=successes,
        n=n,
        n_items=n_items,
        estimate=successes / n if n else float("nan"),
        ci_low=low,
        ci_high=high,
    )


def _pair_counts(counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
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
    agreeing, pairs = _pair_counts(matrix.category_counts())
    return _proportion(
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


# --------------------------------------------------------------------------------------------------
# LLM judge vs clinicians
# --------------------------------------------------------------------------------------------------


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
    - clinician-clinician: pairwise percent agreement (:func:`percent_agreement`) on those items.

    Both get Wilson intervals (optimistic; see :class:`AgreementProportion`). The interval for the
    difference resamples items with replacement (``scipy.stats.bootstrap``, paired, seeded with
    ``numpy.random.default_rng(seed)``) and recomputes both pooled rates on each resample, so it
    respects the clustering of ratings within items.
    """
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
    clin_agree, clin_pairs = (a.astype(float) for a in _pair_counts(sub))
    n_items = len(sel)
    jc = _proportion(successes=int(judge_agree.sum()), n=int(judge_pairs.sum()), n_items=n_items, alpha=alpha)
    cc = _proportion(successes=int(clin_agree.sum()), n=int(clin_pairs.sum()), n_items=n_items, alpha=alpha)
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


# --------------------------------------------------------------------------------------------------
# Position balance and unblinding
# --------------------------------------------------------------------------------------------------


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


_POSITION_TO_VERDICT = {"A": "first", "B": "second", "tie": "tie"}


def unblind_ratings(
    *, ratings: Iterable[Rating], model_in_position_a: Mapping[tuple[Hashable, Hashable], str]
) -> list[Rating]:
    """Recode position-level ratings to model level.

    ``model_in_position_a[(rater, item)]`` is the model (``"A"`` or ``"B"``) that was displayed as
    Response A to that rater on that item. A rating of ``"A"`` then becomes that model, ``"B"`` the
    other one; ties and missing ratings are unchanged. A rating without a recorded order raises
    ``ValueError``.
    """
    recoded: list[Rating] = []
    for rating in ratings:
        if rating.value is None:
            recoded.append(rating)
            continue
        verdict = _POSITION_TO_VERDICT.get(rating.value)
        if verdict is None:
            raise ValueError(f"rating value must be one of {LABELS} or None, got {rating.value!r}")
        first = model_in_position_a.get((rating.rater, rating.item))
        if first is None:
            raise ValueError(f"no recorded display order for rater {rating.rater!r}, item {rating.item!r}")
        recoded.append(rating._replace(value=to_model_outcome(verdict=verdict, first_model=first)))
    return recoded


# --------------------------------------------------------------------------------------------------
# Blinding index
# --------------------------------------------------------------------------------------------------


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
