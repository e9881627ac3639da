"""Who rates which item, in which order and display position, for a clinician study (no Django).

- **Overlap and load.** Every main item goes to ``raters_per_item`` distinct clinicians. Items are handed
  out greedily: each pick is the clinician with the fewest items so far, ties broken first by how few
  items they already share with the clinicians picked for this item (spreads the rater pairs, which
  Cohen's kappa per pair needs), then at random (seeded). Loads then differ by at most one item.
  Calibration items go to every clinician.
- **Queue order.** Each clinician sees their calibration items first, then their main items in their own
  random order.
- **Display position.** Per clinician, half of their items (rounded at random) show model A as
  "Response A" and the others model B, shuffled, so position and model are balanced for every clinician.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedAssignment:
    item: Hashable
    clinician: Hashable
    sequence: int
    model_in_position_a: str


def plan_raters(
    *, items: Sequence[Hashable], clinicians: Sequence[Hashable], raters_per_item: int, seed: int
) -> dict[Hashable, list[Hashable]]:
    """Item -> the clinicians who rate it (see module docstring)."""
    if raters_per_item < 1 or raters_per_item > len(clinicians):
        raise ValueError(f"raters_per_item must be between 1 and {len(clinicians)}, got {raters_per_item}.")
    if len(set(clinicians)) != len(clinicians):
        raise ValueError("clinicians must be distinct")
    rng = random.Random(seed)
    load: Counter[Hashable] = Counter({clinician: 0 for clinician in clinicians})
    shared: Counter[tuple[Hashable, Hashable]] = Counter()
    tiebreak = {clinician: rng.random() for clinician in clinicians}
    plan: dict[Hashable, list[Hashable]] = {}
    for item in items:
        chosen: list[Hashable] = []
        for _ in range(raters_per_item):
            best = min(
                (c for c in clinicians if c not in chosen),
                key=lambda c: (load[c], sum(shared[_pair(c, o)] for o in chosen), tiebreak[c]),
            )
            chosen.append(best)
        for clinician in chosen:
            load[clinician] += 1
            tiebreak[clinician] = rng.random()
        for index, first in enumerate(chosen):
            for second in chosen[index + 1 :]:
                shared[_pair(first, second)] += 1
        plan[item] = chosen
    return plan


def _pair(first: Hashable, second: Hashable) -> tuple[Hashable, Hashable]:
    """The same key for (x, y) and (y, x)."""
    return (first, second) if repr(first) <= repr(second) else (second, first)


def plan_study(
    *,
    items: Sequence[Hashable],
    calibration_items: Sequence[Hashable],
    clinicians: Sequence[Hashable],
    raters_per_item: int,
    seed: int,
) -> list[PlannedAssignment]:
    """Every (item, clinician) assignment with its queue position and display order."""
    raters = plan_raters(items=items, clinicians=clinicians, raters_per_item=raters_per_item, seed=seed)
    rng = random.Random(f"{seed}:order")
    per_clinician: dict[Hashable, list[Hashable]] = {clinician: [] for clinician in clinicians}
    for item, chosen in raters.items():
        for clinician in chosen:
            per_clinician[clinician].append(item)
    planned: list[PlannedAssignment] = []
    for clinician in clinicians:
        main = per_clinician[clinician]
        rng.shuffle(main)
        queue = [*calibration_items, *main]
        half, odd = divmod(len(queue), 2)
        positions = ["A"] * half + ["B"] * half + ([rng.choice("AB")] if odd else [])
        rng.shuffle(positions)
        planned.extend(
            PlannedAssignment(item=item, clinician=clinician, sequence=index, model_in_position_a=position)
            for index, (item, position) in enumerate(zip(queue, positions, strict=True), start=1)
        )
    return planned
