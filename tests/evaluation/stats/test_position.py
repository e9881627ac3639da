"""Position balance per clinician: counts, exact binomial test and Wilson interval."""

import math

import pytest

from evaluation.stats.position import position_balance
from evaluation.stats.ratings import Rating
from evaluation.stats.winrates import wilson_interval


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
