"""Synthetic snapshot directories with a known answer, for tests, benchmarks and a first offline run.

Each question gets five candidate responses assembled from short sentences; each criterion has a marker
sentence, and a pair prefers a candidate that contains the criterion's marker over one that does not. The
preference is therefore learnable from the text (a reward model can separate it) yet differs per criterion,
and candidates recur across pairs and criteria just as in the real study (five responses per question).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

CRITERIA_SETS: dict[str, tuple[str, ...]] = {
    "therapeutic": (
        "empathy",
        "active_listening",
        "self_motivated_change",
        "trust_rapport",
        "patient_autonomy",
        "safety",
    ),
    "gricean": ("quantity", "quality", "relation", "manner", "safety"),
}

MARKERS: dict[str, str] = {
    "empathy": "That sounds really painful, and your feelings make complete sense.",
    "active_listening": "You said this has been building up for a while; did I get that right?",
    "self_motivated_change": "What is one small change you would like to try this week?",
    "trust_rapport": "Thank you for trusting me with something so personal.",
    "patient_autonomy": "You know your life best, so the choice of what to do next is yours.",
    "safety": "If you ever feel unsafe, please call a crisis line or emergency services right away.",
    "quantity": "Here are two concrete steps, no more and no less than you need.",
    "quality": "Research on this is clear, and I will not claim more than it shows.",
    "relation": "Coming back to what you asked about, this is directly relevant.",
    "manner": "First, breathe slowly. Second, write the worry down. Third, rest.",
}

TOPICS = (
    "anxiety",
    "grief",
    "loneliness",
    "work stress",
    "a breakup",
    "sleep problems",
    "self-esteem",
    "anger",
)
SITUATIONS = (
    "since I moved to a new city",
    "after my father passed away",
    "because my job keeps getting harder",
    "and my friends do not seem to notice",
    "for most of this year",
    "ever since my exams started",
)
FILLERS = (
    "Many people go through something similar.",
    "It can help to notice when it gets worse.",
    "Try to keep a regular routine.",
    "Talking to someone can make a difference.",
    "Sometimes things change slowly.",
)


def _marker(criterion: str) -> str:
    return MARKERS.get(criterion, f"This reply pays close attention to {criterion.replace('_', ' ')}.")


def _candidates(rng: random.Random, criteria: tuple[str, ...], count: int = 5) -> list[tuple[str, set[str]]]:
    """Candidate responses with the set of criteria whose marker each contains."""
    # The first candidate has no marker and the second has them all, so every criterion has a preferred and
    # a dispreferred response for every question.
    memberships = [set(), set(criteria)]
    memberships += [{c for c in criteria if rng.random() < 0.5} for _ in range(count - 2)]
    candidates = []
    for members in memberships:
        sentences = [_marker(c) for c in criteria if c in members]
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(FILLERS))
        candidates.append((" ".join(sentences), members))
    return candidates


def toy_pairs(
    criteria: tuple[str, ...], *, n_questions: int, test_fraction: float, seed: int
) -> dict[str, list[dict[str, str | int]]]:
    """Preference records per criterion (including "overall": most markers beats fewest)."""
    rng = random.Random(seed)
    n_test = max(1, round(n_questions * test_fraction))
    records: dict[str, list[dict[str, str | int]]] = {criterion: [] for criterion in (*criteria, "overall")}
    for index in range(n_questions):
        question_id = f"q{index:04d}"
        prompt = (
            f"I have been struggling with {rng.choice(TOPICS)} {rng.choice(SITUATIONS)}. What should I do?"
        )
        split = "test" if index < n_test else "train"
        candidates = _candidates(rng, criteria)
        for criterion in records:
            if criterion == "overall":
                ranked = sorted(candidates, key=lambda candidate: len(candidate[1]))
                chosen, rejected = ranked[-1][0], ranked[0][0]
            else:
                chosen = rng.choice([text for text, members in candidates if criterion in members])
                rejected = rng.choice([text for text, members in candidates if criterion not in members])
            records[criterion].append(
                {
                    "question_id": question_id,
                    "prompt": prompt,
                    "chosen": chosen,
                    "rejected": rejected,
                    "split": split,
                    "criterion": criterion,
                    "n_judges": 50,
                }
            )
    return records


def write_toy_snapshot(
    snapshot_dir: str | Path,
    *,
    criteria_set: str = "therapeutic",
    n_questions: int = 24,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Path:
    """Write a complete snapshot directory (manifest + preferences) and return its path."""
    if criteria_set not in CRITERIA_SETS:
        raise ValueError(f"Unknown toy criteria set {criteria_set!r}; choose from {sorted(CRITERIA_SETS)}.")
    root = Path(snapshot_dir)
    (root / "preferences").mkdir(parents=True, exist_ok=True)
    base_criteria = CRITERIA_SETS[criteria_set]
    records = toy_pairs(base_criteria, n_questions=n_questions, test_fraction=test_fraction, seed=seed)
    digest = hashlib.sha256()
    for criterion, rows in records.items():
        text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
        (root / "preferences" / f"{criterion}.jsonl").write_text(text, encoding="utf-8")
        digest.update(criterion.encode() + text.encode())
    criteria = list(records)
    manifest = {
        "snapshot_hash": digest.hexdigest(),
        "criteria_set": {"key": criteria_set, "version": 1, "criteria": criteria},
        # Survey-style importance weights: the first criterion dominates, as empathy did in the study.
        "objective_weights": {
            c: (0.5 if i == 0 else 0.5 / (len(criteria) - 1)) for i, c in enumerate(criteria)
        },
        "counts": {
            "questions": n_questions,
            "pairs": {
                c: {split: sum(row["split"] == split for row in rows) for split in ("train", "test")}
                for c, rows in records.items()
            },
        },
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return root
