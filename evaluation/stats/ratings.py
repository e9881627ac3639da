"""Clinician ratings of the blinded study (study step 10) and their coding.

Clinicians compare two responses ("Response A" / "Response B") per item and criterion and answer
``"A"``, ``"B"`` or ``"tie"``; a clinician may skip items (missing ratings). :class:`Rating` is one answer;
:class:`RatingMatrix` holds one criterion's ratings as a raters x items array, the input of every
agreement statistic.

Coding. The statistics accept whatever labels they are given, but the labels must be consistent
across raters. Position balance needs *position-level* labels (as displayed). Agreement should be
computed on *model-level* labels (``"A"`` = model A, after :func:`unblind_ratings`): when the display
order is randomised per clinician, position labels of two clinicians do not refer to the same model;
and even with one order per item, kappa and alpha depend on the category margins, which differ
between the two codings. Percent agreement is unaffected by a per-item relabelling.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from evaluation.stats.winrates import to_model_outcome

LABELS: tuple[str, ...] = ("A", "B", "tie")


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
