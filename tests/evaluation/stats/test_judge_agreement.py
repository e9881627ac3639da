"""LLM judge vs clinician agreement: hand example and the bootstrap interval against a manual one."""

import numpy as np
import pytest

from evaluation.stats.judge_agreement import judge_vs_clinicians
from evaluation.stats.ratings import Rating, rating_matrix
from tests.evaluation.stats.clinical_ratings import CLINICAL


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
