"""Clinician-study agreement statistics against textbook examples and hand computations."""

import math

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, to_table

from evaluation.stats.agreement import (
    BlindingGuess,
    Rating,
    agreement_by_criterion,
    bang_blinding_index,
    blinding_assessment,
    criterion_agreement,
    fleiss_kappa_modal,
    judge_vs_clinicians,
    krippendorff_alpha_nominal,
    pairwise_cohen_kappa,
    percent_agreement,
    position_balance,
    rating_matrices,
    rating_matrix,
    unblind_ratings,
)
from evaluation.stats.winrates import wilson_interval

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


CLINICAL = [
    # item i1: A, A, B      item i2: B, B, B      item i3: tie, A, (missing)
    # item i4: A only       item i5: A, B
    Rating("c1", "i1", "overall", "A"),
    Rating("c2", "i1", "overall", "A"),
    Rating("c3", "i1", "overall", "B"),
    Rating("c1", "i2", "overall", "B"),
    Rating("c2", "i2", "overall", "B"),
    Rating("c3", "i2", "overall", "B"),
    Rating("c1", "i3", "overall", "tie"),
    Rating("c2", "i3", "overall", "A"),
    Rating("c3", "i3", "overall", None),
    Rating("c1", "i4", "overall", "A"),
    Rating("c1", "i5", "overall", "A"),
    Rating("c2", "i5", "overall", "B"),
    Rating("c1", "i1", "safety", "tie"),
    Rating("c2", "i1", "safety", "tie"),
]


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


def test_invalid_ratings_are_rejected():
    with pytest.raises(ValueError, match="must be one of"):
        rating_matrices(ratings=[Rating("c1", "i1", "x", "failed")])
    with pytest.raises(ValueError, match="twice"):
        rating_matrices(ratings=[Rating("c1", "i1", "x", "A"), Rating("c1", "i1", "x", "B")])


def test_judge_vs_clinicians_hand_example():
    m = rating_matrix(ratings=CLINICAL, criterion="overall")
    judge = {"i1": "A", "i2": "B", "i3": "A", "i4": "A", "missing": "B"}
    result = judge_vs_clinicians(matrix=m, judge=judge, n_resamples=999, seed=1)
    # items used: i1, i2, i3 (i4 has one clinician, i5 no judge label)
    assert result.n_items == 3
    assert (result.judge_clinician.successes, result.judge_clinician.n) == (6, 8)
    assert (result.clinician_clinician.successes, result.clinician_clinician.n) == (4, 7)
    assert result.difference == pytest.approx(6 / 8 - 4 / 7)
    with pytest.raises(ValueError, match="label must be one of"):
        judge_vs_clinicians(matrix=m, judge={**judge, "unrated": "error"})
    again = judge_vs_clinicians(matrix=m, judge=judge, n_resamples=999, seed=1)
    assert (again.difference_ci_low, again.difference_ci_high) == (
        result.difference_ci_low,
        result.difference_ci_high,
    )


def test_judge_vs_clinicians_bootstrap_matches_a_manual_item_bootstrap():
    rng = np.random.default_rng(11)
    n_items = 60
    truth = rng.choice(["A", "B"], size=n_items, p=[0.7, 0.3])
    ratings = []
    for c in range(4):
        noisy = np.where(rng.random(n_items) < 0.3, rng.choice(["A", "B", "tie"], size=n_items), truth)
        ratings += [Rating(c, i, "overall", str(noisy[i])) for i in range(n_items)]
    judge = {i: str(truth[i]) for i in range(n_items)}
    m = rating_matrix(ratings=ratings, criterion="overall")
    result = judge_vs_clinicians(matrix=m, judge=judge, n_resamples=4000, seed=5)
    assert result.difference_ci_low < result.difference < result.difference_ci_high

    # independent percentile bootstrap over items
    counts = m.category_counts()
    codes = np.array([m.code_of(judge[i]) for i in range(n_items)])
    ja = counts[np.arange(n_items), codes]
    jn = counts.sum(axis=1)
    ca = (counts * (counts - 1) // 2).sum(axis=1)
    cn = jn * (jn - 1) // 2
    boot = np.random.default_rng(99).integers(0, n_items, size=(4000, n_items))
    diffs = ja[boot].sum(1) / jn[boot].sum(1) - ca[boot].sum(1) / cn[boot].sum(1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    assert result.difference_ci_low == pytest.approx(low, abs=0.02)
    assert result.difference_ci_high == pytest.approx(high, abs=0.02)


def test_position_balance_binomial_test():
    ratings = [Rating("c1", i, "overall", "A") for i in range(8)]
    ratings += [Rating("c1", 10 + i, "overall", "B") for i in range(2)]
    ratings += [Rating("c1", 20, "overall", "tie"), Rating("c1", 21, "overall", None)]
    ratings += [Rating("c2", 0, "safety", "B"), Rating("c2", 1, "overall", "tie")]
    result = position_balance(ratings=ratings)
    c1 = result["c1"]
    assert (c1.n_a, c1.n_b, c1.n_ties, c1.proportion_a) == (8, 2, 1, 0.8)
    assert c1.p_value == pytest.approx(2 * (1 + 10 + 45) / 1024)  # exact two-sided binomial
    assert (c1.ci_low, c1.ci_high) == pytest.approx(wilson_interval(successes=8, n=10))
    only_overall = position_balance(ratings=ratings, criteria={"overall"})["c2"]
    assert (only_overall.n_a, only_overall.n_b, only_overall.n_ties) == (0, 0, 1)
    assert math.isnan(only_overall.p_value)


def test_unblind_ratings():
    ratings = [
        Rating("c1", "i1", "overall", "A"),
        Rating("c1", "i2", "overall", "A"),
        Rating("c1", "i2", "safety", "B"),
        Rating("c1", "i3", "overall", "tie"),
        Rating("c1", "i4", "overall", None),
    ]
    order = {("c1", "i1"): "A", ("c1", "i2"): "B", ("c1", "i3"): "B"}
    assert [r.value for r in unblind_ratings(ratings=ratings, model_in_position_a=order)] == [
        "A",
        "B",
        "A",
        "tie",
        None,
    ]
    with pytest.raises(ValueError, match="display order"):
        unblind_ratings(ratings=[Rating("c2", "i1", "overall", "A")], model_in_position_a=order)


def test_bang_blinding_index_hand_computed():
    # 6 correct, 2 incorrect, 2 don't know: BI = (2 * 6/8 - 1) * 8/10 = 0.4;
    # p_c = 0.6, p_i = 0.2: var = (0.24 + 0.16 + 2 * 0.12) / 10 = 0.064.
    bi = bang_blinding_index(n_correct=6, n_incorrect=2, n_dont_know=2)
    assert bi.index == pytest.approx(0.4)
    assert bi.se == pytest.approx(math.sqrt(0.064))
    assert bi.ci_low == pytest.approx(0.4 - 1.959963984540054 * math.sqrt(0.064))
    assert bi.ci_high == pytest.approx(0.4 + 1.959963984540054 * math.sqrt(0.064))
    assert math.isnan(bang_blinding_index(n_correct=0, n_incorrect=0, n_dont_know=0).index)


def test_bang_blinding_index_matches_published_example():
    # Example from the R package BI / BlindingIndex.jl: x = [48 22; 4 30; 330 319] (rows: guess
    # treatment, guess placebo, don't know; columns: treatment, placebo arm). Published Bang BI:
    # treatment 0.115 (SE 0.018), placebo 0.022 (SE 0.019).
    treatment = bang_blinding_index(n_correct=48, n_incorrect=4, n_dont_know=330)
    placebo = bang_blinding_index(n_correct=30, n_incorrect=22, n_dont_know=319)
    assert (round(treatment.index, 3), round(treatment.se, 3)) == (0.115, 0.018)
    assert (round(placebo.index, 3), round(placebo.se, 3)) == (0.022, 0.019)
    assert (round(treatment.ci_low, 2), round(treatment.ci_high, 2)) == (0.08, 0.15)

    guesses = (
        [BlindingGuess("c", k, "A", "A") for k in range(48)]
        + [BlindingGuess("c", k, "B", "A") for k in range(4)]
        + [BlindingGuess("c", k, None, "A") for k in range(330)]
        + [BlindingGuess("c", k, "A", "B") for k in range(22)]
        + [BlindingGuess("c", k, "B", "B") for k in range(30)]
        + [BlindingGuess("c", k, None, "B") for k in range(319)]
    )
    assessment = blinding_assessment(guesses=guesses)
    assert assessment.by_truth["A"].index == pytest.approx(treatment.index)
    assert assessment.by_truth["B"].index == pytest.approx(placebo.index)
    assert assessment.overall.index == pytest.approx((78 - 26) / 753)
    with pytest.raises(ValueError, match="guess"):
        blinding_assessment(guesses=[BlindingGuess("c", 1, "model", "A")])
