"""Clinician-clinician agreement coefficients against textbook examples and hand computations."""

import math

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, to_table

from evaluation.stats.agreement import (
    agreement_by_criterion,
    criterion_agreement,
    fleiss_kappa_modal,
    krippendorff_alpha_nominal,
    pairwise_cohen_kappa,
    percent_agreement,
)
from evaluation.stats.ratings import Rating, rating_matrix
from evaluation.stats.winrates import wilson_interval
from tests.evaluation.stats.clinical_ratings import CLINICAL

# Fleiss (1971) example as tabulated on Wikipedia ("Fleiss' kappa"): 10 subjects, 14 raters,
# 5 categories; kappa = 0.210, mean observed agreement P-bar = 0.378.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]
FIVE = ("1", "2", "3", "4", "5")


def _fleiss_ratings(table):
    ratings = []
    for item, row in enumerate(table):
        values = [FIVE[c] for c, n in enumerate(row) for _ in range(n)]
        ratings += [Rating(rater, item, "x", v) for rater, v in enumerate(values)]
    return ratings


def test_fleiss_kappa_wikipedia_example():
    m = rating_matrix(ratings=_fleiss_ratings(FLEISS_TABLE), criterion="x", labels=FIVE)
    result = fleiss_kappa_modal(matrix=m)
    assert result.kappa == pytest.approx(0.2099, abs=5e-5)
    assert (result.n_items, result.raters_per_item, result.n_items_excluded) == (10, 14, 0)
    assert percent_agreement(matrix=m).estimate == pytest.approx(0.378, abs=5e-4)


def test_fleiss_kappa_uses_items_with_the_modal_rater_count():
    ratings = _fleiss_ratings(FLEISS_TABLE)
    # an extra item seen by only three raters: excluded from Fleiss, used by Krippendorff
    ratings += [Rating(r, "extra", "x", "1") for r in range(3)]
    m = rating_matrix(ratings=ratings, criterion="x", labels=FIVE)
    result = fleiss_kappa_modal(matrix=m)
    assert result.kappa == pytest.approx(0.2099, abs=5e-5)
    assert (result.n_items, result.n_items_excluded) == (10, 1)
    # modal count is chosen, ties broken towards the larger count
    small = rating_matrix(
        ratings=[
            Rating("r1", "i1", "x", "A"),
            Rating("r2", "i1", "x", "A"),
            Rating("r1", "i2", "x", "A"),
            Rating("r2", "i2", "x", "B"),
            Rating("r3", "i2", "x", "B"),
            Rating("r1", "i3", "x", "tie"),  # single rating: not counted as excluded
        ],
        criterion="x",
    )
    assert fleiss_kappa_modal(matrix=small).raters_per_item == 3
    assert fleiss_kappa_modal(matrix=small).n_items_excluded == 1


def test_cohen_kappa_wikipedia_example():
    # Wikipedia "Cohen's kappa": 50 proposals; both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    ratings = [Rating("A", i, "x", a) for i, (a, _) in enumerate(pairs)]
    ratings += [Rating("B", i, "x", b) for i, (_, b) in enumerate(pairs)]
    m = rating_matrix(ratings=ratings, criterion="x", labels=("yes", "no"))
    (kappa,) = pairwise_cohen_kappa(matrix=m)
    assert kappa.kappa == pytest.approx(0.4, abs=1e-12)
    assert kappa.percent_agreement == pytest.approx(0.7)
    assert kappa.n_items == 50
    table, _ = to_table(m.codes.T.astype(int), bins=2)
    assert kappa.kappa == pytest.approx(cohens_kappa(table).kappa)


def test_krippendorff_alpha_wikipedia_example():
    # Wikipedia "Krippendorff's alpha" / krippendorff package docs: 3 coders, 15 units, nominal 0.691.
    nan = None
    data = [
        [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
        [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
        [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
    ]
    ratings = [Rating(c, u, "x", v) for c, row in enumerate(data) for u, v in enumerate(row)]
    m = rating_matrix(ratings=ratings, criterion="x", labels=(1, 2, 3, 4))
    assert krippendorff_alpha_nominal(matrix=m) == pytest.approx(0.691358, abs=1e-6)


def test_krippendorff_alpha_paper_example_c():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability", example C: 4 observers,
    # 12 units with missing values, nominal alpha = 0.743.
    units = [
        (1, 1, None, 1),
        (2, 2, 3, 2),
        (3, 3, 3, 3),
        (3, 3, 3, 3),
        (2, 2, 2, 2),
        (1, 2, 3, 4),
        (4, 4, 4, 4),
        (1, 1, 2, 1),
        (2, 2, 2, 2),
        (None, 5, 5, 5),
        (None, None, 1, 1),
        (None, None, 3, None),
    ]
    ratings = [Rating(o, u, "x", v) for u, values in enumerate(units) for o, v in enumerate(values)]
    m = rating_matrix(ratings=ratings, criterion="x", labels=(1, 2, 3, 4, 5))
    assert krippendorff_alpha_nominal(matrix=m) == pytest.approx(0.743, abs=5e-4)


def test_percent_agreement_hand_example():
    m = rating_matrix(ratings=CLINICAL, criterion="overall")
    # agreeing pairs / pairs: i1 1/3, i2 3/3, i3 0/1, i5 0/1 -> 4/8
    pa = percent_agreement(matrix=m)
    assert (pa.successes, pa.n, pa.n_items, pa.estimate) == (4, 8, 4, 0.5)
    assert (pa.ci_low, pa.ci_high) == pytest.approx(wilson_interval(successes=4, n=8))


def test_criterion_agreement_and_degenerate_cases():
    results = agreement_by_criterion(ratings=CLINICAL)
    assert set(results) == {"overall", "safety"}
    overall = results["overall"]
    assert (overall.n_raters, overall.n_items, overall.n_ratings) == (3, 4, 11)
    assert len(overall.cohen) == 3
    c1c2 = overall.cohen[0]
    assert (c1c2.rater_1, c1c2.rater_2, c1c2.n_items) == ("c1", "c2", 4)
    assert c1c2.percent_agreement == pytest.approx(0.5)
    # all ratings identical: agreement 1, chance-corrected coefficients undefined
    safety = results["safety"]
    assert safety.percent_agreement.estimate == 1
    assert math.isnan(safety.fleiss.kappa)
    assert math.isnan(safety.krippendorff_alpha)
    assert math.isnan(safety.mean_cohen_kappa)


def test_criterion_agreement_matches_packages_on_complete_data():
    rng = np.random.default_rng(3)
    values = rng.choice(["A", "B", "tie"], size=(4, 30), p=[0.5, 0.3, 0.2])
    ratings = [Rating(r, i, "x", str(values[r, i])) for r in range(4) for i in range(30)]
    m = rating_matrix(ratings=ratings, criterion="x")
    result = criterion_agreement(matrix=m)
    from krippendorff import alpha
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    assert result.krippendorff_alpha == pytest.approx(
        alpha(reliability_data=m.codes, level_of_measurement="nominal")
    )
    assert result.fleiss.kappa == pytest.approx(fleiss_kappa(aggregate_raters(values.T)[0]))
    assert result.cohen[0].kappa == pytest.approx(cohen_kappa_score(values[0], values[1]))
