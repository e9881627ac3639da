"""Read an exported dataset snapshot directory: the only input the ML package takes from the web app.

Layout (written by the web app's snapshot export, or by `toy_data.write_toy_snapshot` in tests):

    <snapshot>/manifest.json
        {"snapshot_hash": str,
         "criteria_set": {"key": str, "version": int, "criteria": [criterion keys]},
         "objective_weights": {criterion: float},
         "counts": {...}}
    <snapshot>/preferences/<criterion>.jsonl
        one pair per line: {"prompt": str, "chosen": str, "rejected": str, "split": "train" | "test",
                            "question_id": str, "criterion": str, ...extra keys, ignored}

Every format problem raises `SnapshotFormatError` (a `ValueError`) naming the file and line, before any
training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset

from .configs import SPLITS

PAIR_KEYS = ("prompt", "chosen", "rejected", "split", "question_id", "criterion")


class SnapshotFormatError(ValueError):
    """The snapshot directory does not follow the export contract."""


@dataclass(frozen=True)
class PreferencePair:
    """One best-versus-worst response pair for a question under one criterion."""

    question_id: str
    prompt: str
    chosen: str
    rejected: str
    split: str
    criterion: str


@dataclass(frozen=True)
class Snapshot:
    """A validated snapshot manifest plus access to its preference files."""

    root: Path
    snapshot_hash: str
    criteria_set_key: str
    criteria_set_version: int
    criteria: tuple[str, ...]
    objective_weights: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)

    def lineage(self) -> dict[str, Any]:
        """What a trained artifact records about the data it came from."""
        return {
            "snapshot_hash": self.snapshot_hash,
            "criteria_set": {
                "key": self.criteria_set_key,
                "version": self.criteria_set_version,
                "criteria": list(self.criteria),
            },
        }

    def require_criterion(self, criterion: str) -> None:
        """Raise a clear error if `criterion` is not part of this snapshot's criteria set."""
        if criterion not in self.criteria:
            raise SnapshotFormatError(
                f"Criterion {criterion!r} is not in snapshot {self.snapshot_hash[:12]} (criteria set "
                f"{self.criteria_set_key!r}: {', '.join(self.criteria)})."
            )

    def pairs(self, criterion: str, split: str | None = None) -> list[PreferencePair]:
        """The criterion's preference pairs, optionally restricted to one split, in file order."""
        self.require_criterion(criterion)
        if split is not None and split not in SPLITS:
            raise SnapshotFormatError(f"Unknown split {split!r}; expected one of {SPLITS}.")
        path = self.root / "preferences" / f"{criterion}.jsonl"
        if not path.is_file():
            raise SnapshotFormatError(f"Snapshot lists criterion {criterion!r} but {path} is missing.")
        pairs = [_parse_pair(line, path, number) for number, line in _nonblank_lines(path)]
        return [pair for pair in pairs if split is None or pair.split == split]

    def questions(self, split: str) -> list[tuple[str, str]]:
        """Unique (question_id, prompt) of a split over all criteria, in first-seen order."""
        seen: dict[str, str] = {}
        for criterion in self.criteria:
            for pair in self.pairs(criterion, split):
                seen.setdefault(pair.question_id, pair.prompt)
        return list(seen.items())


def _nonblank_lines(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(number, line) for number, line in enumerate(handle, start=1) if line.strip()]


def _parse_pair(line: str, path: Path, number: int) -> PreferencePair:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise SnapshotFormatError(f"{path}:{number}: not valid JSON ({error.msg}).") from error
    if not isinstance(record, dict):
        raise SnapshotFormatError(f"{path}:{number}: expected a JSON object.")
    missing = [key for key in PAIR_KEYS if key not in record]
    if missing:
        raise SnapshotFormatError(f"{path}:{number}: missing keys {missing}.")
    if record["split"] not in SPLITS:
        raise SnapshotFormatError(f"{path}:{number}: split {record['split']!r} is not one of {SPLITS}.")
    if record["criterion"] != path.stem:
        raise SnapshotFormatError(
            f"{path}:{number}: criterion {record['criterion']!r} does not match the file name."
        )
    for key in ("prompt", "chosen", "rejected"):
        if not isinstance(record[key], str) or not record[key].strip():
            raise SnapshotFormatError(f"{path}:{number}: {key!r} must be a non-empty string.")
    return PreferencePair(
        question_id=str(record["question_id"]),
        prompt=record["prompt"],
        chosen=record["chosen"],
        rejected=record["rejected"],
        split=record["split"],
        criterion=record["criterion"],
    )


def load_snapshot(snapshot_dir: str | Path) -> Snapshot:
    """Read and validate `manifest.json`; preference files are read lazily by `Snapshot.pairs`."""
    root = Path(snapshot_dir)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise SnapshotFormatError(f"{root} is not a snapshot directory: {manifest_path.name} is missing.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SnapshotFormatError(f"{manifest_path}: not valid JSON ({error.msg}).") from error
    try:
        criteria_set = manifest["criteria_set"]
        snapshot = Snapshot(
            root=root,
            snapshot_hash=str(manifest["snapshot_hash"]),
            criteria_set_key=str(criteria_set["key"]),
            criteria_set_version=int(criteria_set["version"]),
            criteria=tuple(str(key) for key in criteria_set["criteria"]),
            objective_weights={str(k): float(v) for k, v in manifest.get("objective_weights", {}).items()},
            counts=dict(manifest.get("counts", {})),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise SnapshotFormatError(f"{manifest_path}: malformed manifest ({error!r}).") from error
    if not snapshot.criteria:
        raise SnapshotFormatError(f"{manifest_path}: the criteria set lists no criteria.")
    return snapshot


def preference_dataset(pairs: list[PreferencePair], *, conversational: bool) -> Dataset:
    """TRL preference dataset (prompt/chosen/rejected) from pairs.

    Conversational rows (a user turn, then one assistant turn) suit tokenizers with a chat template, which TRL
    renders itself; plain-text rows are for base models without one.
    """
    if not pairs:
        raise SnapshotFormatError("No preference pairs to train on.")
    rows: dict[str, list[Any]]
    if conversational:
        rows = {
            "prompt": [[{"role": "user", "content": pair.prompt}] for pair in pairs],
            "chosen": [[{"role": "assistant", "content": pair.chosen}] for pair in pairs],
            "rejected": [[{"role": "assistant", "content": pair.rejected}] for pair in pairs],
        }
    else:
        rows = {
            "prompt": [pair.prompt for pair in pairs],
            "chosen": [pair.chosen for pair in pairs],
            "rejected": [pair.rejected for pair in pairs],
        }
    rows["question_id"] = [pair.question_id for pair in pairs]
    return Dataset.from_dict(rows)


def completion_dataset(pairs: list[PreferencePair], *, conversational: bool) -> Dataset:
    """TRL prompt-completion dataset of the chosen responses (SFT data), one row per distinct response."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for pair in pairs:
        if (pair.prompt, pair.chosen) not in seen:
            seen.add((pair.prompt, pair.chosen))
            unique.append(pair)
    if not unique:
        raise SnapshotFormatError("No chosen responses to fine-tune on.")
    rows: dict[str, list[Any]]
    if conversational:
        rows = {
            "prompt": [[{"role": "user", "content": pair.prompt}] for pair in unique],
            "completion": [[{"role": "assistant", "content": pair.chosen}] for pair in unique],
        }
    else:
        rows = {"prompt": [pair.prompt for pair in unique], "completion": [pair.chosen for pair in unique]}
    return Dataset.from_dict(rows)
