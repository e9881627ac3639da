"""EPITOME-like CSV files with the real corpus's quirks, built in code (nothing is downloaded).

The real files (one per empathy mechanism, 3,084 rows and 2,979 sp_ids each) repeat about 60 rp_id rows: the
same seeker post and response text exported again for a second annotation, mostly with the same level, some
with another. Seeker posts span several lines and hold commas and quotes, so the CSV quotes them.
:func:`epitome_like` builds such a file with exact, known counts; ``STUDY_SIZE`` reproduces the real sizes.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

HEADER = ["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]
MECHANISMS = ("emotional_reactions", "interpretations", "explorations")
FILE_NAMES = {
    "emotional_reactions": "emotional-reactions-reddit.csv",
    "interpretations": "interpretations-reddit.csv",
    "explorations": "explorations-reddit.csv",
}
#: The real corpus's size per file: 2,979 questions, 45 of them with a second response, and 60 repeated rows
#: (52 agreeing, 8 disagreeing): 3,084 rows.
STUDY_SIZE = {"questions": 2979, "second_responses": 45, "repeats_same": 52, "repeats_disagree": 8}


def seeker_post(question: int) -> str:
    text = f"Post {question}: I have felt low for {question % 17 + 1} weeks, and nobody notices."
    if question % 7 == 0:
        text += '\nSecond line, with "quotes", a comma\nand a third line.'
    return text


def response_post(response: int) -> str:
    return f"Reply {response}: that sounds hard, how long has it been?"


@dataclass(frozen=True)
class EpitomeLike:
    """One EPITOME-like file: its rows (header excluded) and what an import must find in them."""

    mechanism: str
    rows: list[list[str]]
    questions: int
    responses: int
    repeats_same: int
    repeats_disagree: int
    repeated_ids: tuple[str, ...]
    disagreeing_ids: tuple[str, ...]

    @property
    def file_name(self) -> str:
        return FILE_NAMES.get(self.mechanism, f"{self.mechanism}.csv")

    def csv(self, extra_rows: list[list[str]] | None = None) -> bytes:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(HEADER)
        writer.writerows(self.rows + (extra_rows or []))
        return buffer.getvalue().encode("utf-8")


def _level(response: int, mechanism_index: int) -> int:
    return (response * 7 + mechanism_index) % 3


def epitome_like(
    *,
    questions: int,
    second_responses: int,
    repeats_same: int,
    repeats_disagree: int,
    mechanism: str = "emotional_reactions",
) -> EpitomeLike:
    """A file of `questions` sp_ids (the first `second_responses` with two rp_ids) whose rp_ids are the same
    in every mechanism's file, followed by repeated rows: `repeats_same` with the first row's labels and
    `repeats_disagree` with another level and rationale. Which rp_ids repeat depends on the mechanism."""
    index = MECHANISMS.index(mechanism) if mechanism in MECHANISMS else 0
    base: list[list[str]] = []
    response = 0
    for question in range(questions):
        for _ in range(2 if question < second_responses else 1):
            level = _level(response, index)
            base.append(
                [
                    f"sp{question:05d}",
                    f"rp{response:05d}",
                    seeker_post(question),
                    response_post(response),
                    str(level),
                    f"sounds hard {response}|" if level else "",
                ]
            )
            response += 1
    n_repeats = repeats_same + repeats_disagree
    stride = max(1, len(base) // (n_repeats + 1))
    picked = [base[index + stride * (i + 1) - 1] for i in range(n_repeats)]
    repeats = []
    for i, row in enumerate(picked):
        if i < repeats_disagree:
            level = (int(row[4]) + 1) % 3
            repeats.append([*row[:4], str(level), f"another span {row[1]}|" if level else ""])
        else:
            repeats.append(list(row))
    random.Random(f"epitome-like-{mechanism}").shuffle(repeats)
    return EpitomeLike(
        mechanism=mechanism,
        rows=base + repeats,
        questions=questions,
        responses=len(base),
        repeats_same=repeats_same,
        repeats_disagree=repeats_disagree,
        repeated_ids=tuple(row[1] for row in picked),
        disagreeing_ids=tuple(row[1] for row in picked[:repeats_disagree]),
    )
