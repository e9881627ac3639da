"""Score pairwise evaluation items with trained reward models (reward-model judges of an evaluation).

Input: a JSONL file, one item per line::

    {"item_id": str, "prompt": str, "response_a": str, "response_b": str}

(``response_a`` is the response in the first position, ``response_b`` the second), given as
``config.items`` or, for the CLI, as ``items.jsonl`` inside the ``--snapshot`` directory. Every reward model
scores every distinct (prompt, response) once, in length-sorted batches (:class:`RewardScorer`).

Output: ``scores.jsonl`` in the output directory, one line per item::

    {"item_id": str, "scores": {"<criterion>": [reward of response_a, reward of response_b], ...}}

Each reward model's scores are kept in ``partial/<criterion>.json`` as soon as they exist, so a redelivered
run only scores the criteria it had not finished. The web app turns the two rewards into a verdict.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import torch

from .callbacks import NullCallbacks, RunCallbacks
from .configs import ITEMS_FILE, ScoreRunConfig, require_existing_path
from .runtime import ARTIFACT_FILE, finish_run, read_artifact_metadata, resolve_hardware
from .scoring import RewardScorer

ITEM_KEYS = ("item_id", "prompt", "response_a", "response_b")
SCORES_FILE = "scores.jsonl"


def read_items(path: str | Path) -> list[dict[str, str]]:
    """The items of a JSONL file; ValueError naming the line for anything malformed or duplicated."""
    items: list[dict[str, str]] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {number}: not JSON ({exc.msg}).") from None
            if not isinstance(row, dict) or any(not isinstance(row.get(key), str) for key in ITEM_KEYS):
                raise ValueError(f"{path} line {number}: needs string fields {', '.join(ITEM_KEYS)}.")
            if row["item_id"] in seen:
                raise ValueError(f"{path} line {number}: item {row['item_id']!r} appears twice.")
            seen.add(row["item_id"])
            items.append({key: row[key] for key in ITEM_KEYS})
    if not items:
        raise ValueError(f"{path} holds no items.")
    return items


def _items_path(config: ScoreRunConfig, snapshot_dir: str | Path | None) -> Path:
    if config.items:
        return Path(config.items)
    if snapshot_dir is None:
        raise ValueError(f"Give `items` in the config or a snapshot directory containing {ITEMS_FILE}.")
    return Path(snapshot_dir) / ITEMS_FILE


def _score_texts(
    entry: dict[str, str],
    texts: list[tuple[str, str]],
    config: ScoreRunConfig,
    device: str,
    dtype: torch.dtype,
) -> list[float]:
    scorer = RewardScorer(entry["path"], device=device, dtype=dtype, max_length=config.max_length)
    if scorer.criterion not in (None, entry["criterion"]):
        raise ValueError(
            f"{entry['path']} scores {scorer.criterion!r}, but the config uses it for {entry['criterion']!r}."
        )
    values = scorer.score([p for p, _ in texts], [r for _, r in texts], batch_size=config.batch_size).tolist()
    del scorer
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return values


def run_score(
    config: ScoreRunConfig,
    snapshot_dir: str | Path | None,
    output_dir: str | Path,
    callbacks: RunCallbacks | None = None,
) -> dict[str, Any]:
    """Score every item with every reward model; write `scores.jsonl` (see module docstring)."""
    callbacks = callbacks or NullCallbacks()
    output_dir = Path(output_dir)
    items_path = _items_path(config, snapshot_dir)
    require_existing_path(str(items_path), what="items file")
    for entry in config.reward_models:
        require_existing_path(entry["path"], what=f"reward model for {entry['criterion']!r}")
    items = read_items(items_path)
    index: dict[tuple[str, str], int] = {}
    for item in items:
        index.setdefault((item["prompt"], item["response_a"]), len(index))
        index.setdefault((item["prompt"], item["response_b"]), len(index))
    texts = list(index)
    hardware = resolve_hardware(config.precision)
    dtype = torch.bfloat16 if hardware.bf16 else torch.float32
    partial_dir = output_dir / "partial"
    partial_dir.mkdir(parents=True, exist_ok=True)
    scores: dict[str, list[float]] = {}
    reward_models: dict[str, Any] = {}
    for step, entry in enumerate(config.reward_models, start=1):
        if callbacks.should_cancel():
            break
        criterion = entry["criterion"]
        partial = partial_dir / f"{criterion}.json"
        values = json.loads(partial.read_text()) if partial.is_file() else None
        if values is None or len(values) != len(texts):
            values = _score_texts(entry, texts, config, hardware.device, dtype)
            partial.write_text(json.dumps(values))
        scores[criterion] = values
        has_metadata = (Path(entry["path"]) / ARTIFACT_FILE).is_file()
        reward_models[criterion] = read_artifact_metadata(entry["path"]) if has_metadata else {}
        callbacks.on_progress(step, len(config.reward_models), {"items": float(len(items))})
    complete = len(scores) == len(config.reward_models)
    artifacts: dict[str, str] = {}
    if complete:
        scores_path = output_dir / SCORES_FILE
        with scores_path.open("w", encoding="utf-8") as handle:
            for item in items:
                first = index[(item["prompt"], item["response_a"])]
                second = index[(item["prompt"], item["response_b"])]
                row = {
                    "item_id": item["item_id"],
                    "scores": {c: [values[first], values[second]] for c, values in scores.items()},
                }
                handle.write(json.dumps(row) + "\n")
        artifacts["scores"] = str(scores_path)
    return finish_run(
        method="score",
        config=config,
        snapshot=None,
        output_dir=output_dir,
        status="completed" if complete else "cancelled",
        metrics={
            "items": len(items),
            "distinct_texts": len(texts),
            "criteria_scored": sorted(scores),
            "reward_models": reward_models,
        },
        artifacts=artifacts,
        parents=[entry["path"] for entry in config.reward_models],
        hardware=hardware,
    )
