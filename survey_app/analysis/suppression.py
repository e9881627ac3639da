"""Small-cell suppression for published counts.

Primary suppression hides every count from 1 to `threshold` (zeros are shown: an empty cell identifies
no one). Secondary suppression protects those cells from subtraction: whenever a published total and
all but one of the cells that add up to it are visible, the hidden one could be recomputed, so one more
cell is hidden (the smallest non-zero visible one, else the total itself), until no such line remains.
This defeats derivation from any single line; it does not search for attacks that combine several lines
(a linear-programming audit would), which is acceptable for the one- and two-way tables shown here.

The mechanism only: which variables are protected, and with what threshold, is the de-identification
policy's to say (survey_app.analysis.disclosure).
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

Line = tuple[Sequence[Hashable], Hashable]


def suppress_cells(*, cells: Mapping[Hashable, int], lines: Sequence[Line], threshold: int) -> set[Hashable]:
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
    """A published count; `small` when it is hidden for being 1 to the threshold itself (primary), not
    only to protect another cell (secondary)."""

    count: int
    suppressed: bool
    small: bool = False

    @property
    def shown(self) -> int | None:
        return None if self.suppressed else self.count


def _cell(count: int, suppressed: bool, threshold: int) -> Cell:
    return Cell(count, suppressed, suppressed and 1 <= count <= threshold)


@dataclass(frozen=True)
class OneWayTable:
    """Counts of one single-choice variable with their total (every respondent in exactly one cell)."""

    cells: dict[str, Cell]
    total: Cell


def one_way(*, counts: Mapping[str, int], threshold: int) -> OneWayTable:
    total_key = ("total",)
    cells: dict[Hashable, int] = {("cell", value): count for value, count in counts.items()}
    cells[total_key] = sum(counts.values())
    hidden = suppress_cells(
        cells=cells, lines=[([("cell", v) for v in counts], total_key)], threshold=threshold
    )
    return OneWayTable(
        cells={value: _cell(count, ("cell", value) in hidden, threshold) for value, count in counts.items()},
        total=_cell(cells[total_key], total_key in hidden, threshold),
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
    threshold: int,
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
        return _cell(cells[key], key in hidden, threshold)

    return TwoWayTable(
        rows=list(rows),
        columns=list(columns),
        cells={(r, c): cell(("cell", r, c)) for r in rows for c in columns},
        row_totals={r: cell(("row", r)) for r in rows},
        column_totals={c: cell(("col", c)) for c in columns},
        total=cell(("all",)),
    )


def suppress_counts(*, counts: Mapping[str, int], threshold: int) -> dict[str, Cell]:
    """Counts that do not add up to a published total (multi-select: one person may be in several),
    so no subtraction is possible: primary suppression only."""
    return {value: _cell(count, 1 <= count <= threshold, threshold) for value, count in counts.items()}
