"""Small-cell suppression for published counts.

Primary suppression hides every count from 1 to `threshold` (zeros are shown: an empty cell identifies
no one). Secondary suppression protects those cells from subtraction: whenever a published total and
all but one of the cells that add up to it are visible, the hidden one could be recomputed, so one more
cell is hidden (the smallest non-zero visible one, else the total itself), until no such line remains.
This defeats derivation from any single line; it does not search for attacks that combine several lines
(a linear-programming audit would), which is acceptable for the one- and two-way tables shown here.

Record-level exports publish no counts, so they use the primary rule alone: a category chosen by 1 to
`threshold` respondents is replaced wherever it appears (`rare_categories`).
"""

from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

SMALL_CELL_MAX = 10
SUPPRESSED = "suppressed"  # what a record-level export shows in place of a rare category

Line = tuple[Sequence[Hashable], Hashable]


def suppress_cells(
    *, cells: Mapping[Hashable, int], lines: Sequence[Line], threshold: int = SMALL_CELL_MAX
) -> set[Hashable]:
    """The keys of `cells` to hide. Each line is (member keys, key of the total they add up to)."""
    hidden = {key for key, count in cells.items() if 1 <= count <= threshold}
    changed = True
    while changed:
        changed = False
        for members, total in lines:
            entries = [*members, total]
            if sum(key in hidden for key in entries) != 1:
                continue
            candidates = sorted(
                (cells[key], order, key)
                for order, key in enumerate(members)
                if key not in hidden and cells[key] > 0
            )
            hidden.add(candidates[0][2] if candidates else total)
            changed = True
    return hidden


@dataclass(frozen=True)
class Cell:
    count: int
    suppressed: bool

    @property
    def shown(self) -> int | None:
        return None if self.suppressed else self.count


@dataclass(frozen=True)
class OneWayTable:
    """Counts of one single-choice variable with their total (every respondent in exactly one cell)."""

    cells: dict[str, Cell]
    total: Cell


def one_way(*, counts: Mapping[str, int], threshold: int = SMALL_CELL_MAX) -> OneWayTable:
    total_key = ("total",)
    cells: dict[Hashable, int] = {("cell", value): count for value, count in counts.items()}
    cells[total_key] = sum(counts.values())
    hidden = suppress_cells(
        cells=cells, lines=[([("cell", v) for v in counts], total_key)], threshold=threshold
    )
    return OneWayTable(
        cells={value: Cell(count, ("cell", value) in hidden) for value, count in counts.items()},
        total=Cell(cells[total_key], total_key in hidden),
    )


@dataclass(frozen=True)
class TwoWayTable:
    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], Cell]
    row_totals: dict[str, Cell]
    column_totals: dict[str, Cell]
    total: Cell


def two_way(
    *,
    counts: Mapping[tuple[str, str], int],
    rows: Sequence[str],
    columns: Sequence[str],
    threshold: int = SMALL_CELL_MAX,
) -> TwoWayTable:
    """A cross-tabulation with row, column and grand totals, every line protected from subtraction."""
    cells: dict[Hashable, int] = {("cell", r, c): counts.get((r, c), 0) for r in rows for c in columns}
    for r in rows:
        cells[("row", r)] = sum(counts.get((r, c), 0) for c in columns)
    for c in columns:
        cells[("col", c)] = sum(counts.get((r, c), 0) for r in rows)
    cells[("all",)] = sum(cells[("row", r)] for r in rows)
    lines: list[Line] = [([("cell", r, c) for c in columns], ("row", r)) for r in rows]
    lines += [([("cell", r, c) for r in rows], ("col", c)) for c in columns]
    lines.append(([("col", c) for c in columns], ("all",)))
    lines.append(([("row", r) for r in rows], ("all",)))
    hidden = suppress_cells(cells=cells, lines=lines, threshold=threshold)

    def cell(key: Hashable) -> Cell:
        return Cell(cells[key], key in hidden)

    return TwoWayTable(
        rows=list(rows),
        columns=list(columns),
        cells={(r, c): cell(("cell", r, c)) for r in rows for c in columns},
        row_totals={r: cell(("row", r)) for r in rows},
        column_totals={c: cell(("col", c)) for c in columns},
        total=cell(("all",)),
    )


def suppress_counts(*, counts: Mapping[str, int], threshold: int = SMALL_CELL_MAX) -> dict[str, Cell]:
    """Counts that do not add up to a published total (multi-select: one person may be in several),
    so no subtraction is possible: primary suppression only."""
    return {value: Cell(count, 1 <= count <= threshold) for value, count in counts.items()}


def rare_categories(*, choices: Iterable[Collection[str]], threshold: int = SMALL_CELL_MAX) -> set[str]:
    """The categories chosen by 1 to `threshold` respondents, for record-level releases (exports), where
    such a category would single its few members out. Each respondent gives the categories they chose:
    one for a single choice, any number for a multi-select, none when unanswered."""
    counts = Counter(value for chosen in choices for value in set(chosen))
    return {value for value, count in counts.items() if count <= threshold}
