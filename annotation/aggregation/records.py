"""One item's rankings (the input) and its aggregated outcome (the output)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ItemRankings:
    """An *item*: one question under one criterion, with every rater's ranking of its responses.

    ``ranks[j]`` is rater ``judge_ids[j]``'s rank vector over ``response_ids`` (see the package docstring).
    Rows may be malformed (wrong length, non-integers): they are counted as invalid, never used.
    """

    question_id: str
    criterion: str
    response_ids: tuple[str, ...]
    judge_ids: tuple[str, ...]
    ranks: Sequence[Sequence[object]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "response_ids", tuple(str(r) for r in self.response_ids))
        object.__setattr__(self, "judge_ids", tuple(str(j) for j in self.judge_ids))
        if len(self.judge_ids) != len(self.ranks):
            raise ValueError(
                f"{self.question_id}/{self.criterion}: {len(self.judge_ids)} judge ids for "
                f"{len(self.ranks)} rankings"
            )
        if len(set(self.response_ids)) != len(self.response_ids):
            raise ValueError(f"{self.question_id}/{self.criterion}: duplicate response ids")
        if len(self.response_ids) < 2:
            raise ValueError(f"{self.question_id}/{self.criterion}: need at least 2 responses")

    @property
    def k(self) -> int:
        return len(self.response_ids)


@dataclass(frozen=True)
class AggregateResult:
    """Aggregated outcome of one item (question x criterion).

    ``scores`` are the summed symmetric-voting points per response (floats; integers unless ties were
    allowed and occurred). ``order`` is the consensus order of response indices from best to worst under the
    documented tie-breaking rule; ``best_index``/``worst_index`` are its ends (``None`` without valid
    rankings). ``pairwise_wins[i][j]`` counts valid raters who ranked response ``i`` strictly above ``j``.
    ``kendall_w`` is the tie-corrected concordance of the valid raters (``None`` with fewer than 2 of them
    or when every rater tied everything).
    """

    question_id: str
    criterion: str
    response_ids: tuple[str, ...]
    scores: tuple[float, ...]
    first_place_votes: tuple[int, ...]
    last_place_votes: tuple[int, ...]
    order: tuple[int, ...]
    best_index: int | None
    worst_index: int | None
    n_valid: int
    n_invalid: int
    valid_judge_ids: tuple[str, ...]
    invalid_judge_ids: tuple[str, ...]
    pairwise_wins: tuple[tuple[int, ...], ...]
    kendall_w: float | None
    points: tuple[int, ...] = field(default=())

    @property
    def k(self) -> int:
        return len(self.response_ids)

    @property
    def has_preference(self) -> bool:
        """True when best and worst differ in score (a best/worst pair exists)."""
        if self.best_index is None or self.worst_index is None:
            return False
        return self.scores[self.best_index] > self.scores[self.worst_index]
