"""Bang's blinding index against a hand computation and a published example."""

import math

import pytest

from evaluation.stats.blinding import BlindingGuess, bang_blinding_index, blinding_assessment


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
