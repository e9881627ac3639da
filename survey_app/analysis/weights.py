"""MODPO objective weights from importance ratings.

Derivation (each step is returned so it can be shown and exported):
1. mean importance m_c of each criterion c over the group (ratings 1-5);
2. normalise: w_c = m_c / sum_j m_j, so the weights are non-negative and sum to 1;
3. safety floor f: if w_safety < f, set w_safety = f and rescale every other weight by
   (1 - f) / (1 - w_safety_before), which keeps their ratios and the sum of 1. A safety weight already at
   or above the floor is left as it is.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean

DECIMALS = 6


@dataclass(frozen=True)
class WeightDerivation:
    means: dict[str, float]
    normalised: dict[str, float]
    weights: dict[str, float]
    floor_applied: bool

    def as_dict(self) -> dict:
        return {
            "mean_importance": self.means,
            "normalised": self.normalised,
            "floor_applied": self.floor_applied,
            "weights": self.weights,
        }


def mean_importance(*, ratings: Sequence[Mapping[str, int]], criteria: Sequence[str]) -> dict[str, float]:
    """Per-criterion mean over the ratings that rated it. Raises ValueError if a criterion has none."""
    means = {}
    for key in criteria:
        values = [rating[key] for rating in ratings if key in rating]
        if not values:
            raise ValueError(f"No importance ratings for {key!r}.")
        means[key] = fmean(values)
    return means


def derive_weights(*, means: Mapping[str, float], safety_key: str, safety_floor: float) -> WeightDerivation:
    if not 0 <= safety_floor < 1:
        raise ValueError("The safety floor must be at least 0 and below 1.")
    if not means or any(value <= 0 for value in means.values()):
        raise ValueError("Mean importances must be positive.")
    total = sum(means.values())
    normalised = {key: value / total for key, value in means.items()}
    weights = dict(normalised)
    floor_applied = safety_key in weights and weights[safety_key] < safety_floor
    if floor_applied:
        scale = (1 - safety_floor) / (1 - weights[safety_key])
        weights = {
            key: (safety_floor if key == safety_key else value * scale) for key, value in weights.items()
        }
    return WeightDerivation(
        means={key: round(value, DECIMALS) for key, value in means.items()},
        normalised={key: round(value, DECIMALS) for key, value in normalised.items()},
        weights=_rounded_to_one(weights, hold=safety_key if floor_applied else None),
        floor_applied=floor_applied,
    )


def _rounded_to_one(weights: Mapping[str, float], hold: str | None) -> dict[str, float]:
    """Round for storage; the largest weight other than `hold` (safety at its floor) absorbs the rounding
    residue, so the sum stays 1 and the floor stays exact."""
    rounded = {key: round(value, DECIMALS) for key, value in weights.items()}
    adjustable = [key for key in rounded if key != hold] or list(rounded)
    largest = max(adjustable, key=lambda key: rounded[key])
    rounded[largest] = round(rounded[largest] + (1 - sum(rounded.values())), DECIMALS)
    return rounded
