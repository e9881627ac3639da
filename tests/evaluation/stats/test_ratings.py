"""Ratings into matrices (bad input rejected) and position-level ratings recoded to model level."""

import pytest

from evaluation.stats.ratings import Rating, rating_matrices, unblind_ratings


def test_invalid_ratings_are_rejected():
    with pytest.raises(ValueError, match="must be one of"):
        rating_matrices(ratings=[Rating("c1", "i1", "x", "failed")])
    with pytest.raises(ValueError, match="twice"):
        rating_matrices(ratings=[Rating("c1", "i1", "x", "A"), Rating("c1", "i1", "x", "B")])


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
