"""Score items with trained reward models: single responses (generation output) or pairs (evaluations).

Input: a JSONL file, one item per line, in either of two shapes (they may be mixed)::

    {"item_id": str, "prompt": str, "response": str}                       a single response
    {"item_id": str, "prompt": str, "response_a": str, "response_b": str}   a pair

Other keys are ignored, so `generate`'s ``responses.jsonl`` (which also holds ``question_id``, ``index`` and
``settings``) is a valid items file as it stands. In a pair, ``response_a`` is the response in the first
position and ``response_b`` the second. The file is ``config.items`` or, failing that, ``items.jsonl`` inside
the snapshot directory. Every reward model scores every distinct (prompt, response) once, in length-sorted
batches (:class:`RewardScorer`), with its token limit (see `scoring`); texts cut to it are counted.

Output: ``scores.jsonl`` in the output directory, one line per item, in input order::

    {"item_id": str, "scores": {"<criterion>": reward}}                        for a single response
    {"item_id": str, "scores": {"<criterion>": [reward of response_a, reward of response_b]}}   for a pair

Each reward model's scores are kept in ``partial/<criterion>.json`` as soon as they exist, so a redelivered
run only scores the criteria it had not finished. For evaluations the web app turns a pair's two rewards into
a verdict.
"""

from __future__ import annotations

import gc
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from .callbacks import NullCallbacks, RunCallbacks
from .configs import ITEMS_FILE, ScoreRunConfig, require_existing_path
from .runtime import ARTIFACT_FILE, finish_run, read_artifact_metadata, resolve_hardware
from .scoring import RewardScorer

SINGLE_KEYS = ("response",)
PAIR_KEYS = ("response_a", "response_b")
SCORES_FILE = "scores.jsonl"


@dataclass(frozen=True)
class ScoreItem:
    """One item: a prompt with one response, or with the two responses of a pair (in shown order)."""

    item_id: str
    prompt: str
    responses: tuple[str, ...]

    @property
    def is_pair(self) -> bool:
        return len(self.responses) == 2


def _parse_item(row: Any, where: str) -> ScoreItem:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object.")
    for key in ("item_id", "prompt"):
        if not isinstance(row.get(key), str):
            raise ValueError(f"{where}: needs a string {key!r}.")
    shapes = [keys for keys in (SINGLE_KEYS, PAIR_KEYS) if any(key in row for key in keys)]
    if len(shapes) != 1 or any(not isinstance(row.get(key), str) for key in shapes[0]):
        raise ValueError(
            f"{where}: needs either a string 'response' (a single response) or string 'response_a' and "
            "'response_b' (a pair), not both."
        )
    return ScoreItem(row["item_id"], row["prompt"], tuple(row[key] for key in shapes[0]))


def read_items(path: str | Path) -> list[ScoreItem]:
    """The items of a JSONL file; ValueError naming the line for anything malformed or duplicated."""
    items: list[ScoreItem] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {number}: not JSON ({exc.msg}).") from None
            item = _parse_item(row, f"{path} line {number}")
            if item.item_id in seen:
                raise ValueError(f"{path} line {number}: item {item.item_id!r} appears twice.")
            seen.add(item.item_id)
            items.append(item)
    if not items:
        raise ValueError(f"{path} holds no items.")
    return items


@dataclass(frozen=True)
class CriterionScores:
    """One reward model's rewards of the distinct texts, its token limit and how many texts it cut."""

    values: list[float]
    max_length: int | None
    truncated: int


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
) -> CriterionScores:
    scorer = RewardScorer(entry["path"], device=device, dtype=dtype, max_length=config.max_length)
    if scorer.criterion not in (None, entry["criterion"]):
        raise ValueError(
            f"{entry['path']} scores {scorer.criterion!r}, but the config uses it for {entry['criterion']!r}."
        )
    encoded = scorer.encode([p for p, _ in texts], [r for _, r in texts])
    values = scorer.score_encoded(encoded, batch_size=config.batch_size).tolist()
    result = CriterionScores(values, scorer.max_length, encoded.truncated)
    del scorer
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def _finished_scores(path: Path, expected: int) -> CriterionScores | None:
    """The scores an earlier delivery of this run saved, if they are complete."""
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    if not isinstance(saved, dict) or len(saved.get("values", ())) != expected:
        return None
    return CriterionScores(**saved)


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
        for response in item.responses:
            index.setdefault((item.prompt, response), len(index))
    texts = list(index)
    hardware = resolve_hardware(config.precision)
    dtype = torch.bfloat16 if hardware.bf16 else torch.float32
    partial_dir = output_dir / "partial"
    partial_dir.mkdir(parents=True, exist_ok=True)
    scores: dict[str, CriterionScores] = {}
    reward_models: dict[str, Any] = {}
    for step, entry in enumerate(config.reward_models, start=1):
        if callbacks.should_cancel():
            break
        criterion = entry["criterion"]
        partial = partial_dir / f"{criterion}.json"
        scored = _finished_scores(partial, len(texts))
        if scored is None:
            scored = _score_texts(entry, texts, config, hardware.device, dtype)
            partial.write_text(json.dumps(asdict(scored)))
        scores[criterion] = scored
        has_metadata = (Path(entry["path"]) / ARTIFACT_FILE).is_file()
        reward_models[criterion] = read_artifact_metadata(entry["path"]) if has_metadata else {}
        callbacks.on_progress(step, len(config.reward_models), {"items": float(len(items))})
    complete = len(scores) == len(config.reward_models)
    artifacts: dict[str, str] = {}
    if complete:
        scores_path = output_dir / SCORES_FILE
        with scores_path.open("w", encoding="utf-8") as handle:
            for item in items:
                positions = [index[(item.prompt, response)] for response in item.responses]
                row = {
                    "item_id": item.item_id,
                    "scores": {
                        criterion: [scored.values[i] for i in positions]
                        if item.is_pair
                        else scored.values[positions[0]]
                        for criterion, scored in scores.items()
                    },
                }
                handle.write(json.dumps(row) + "\n")
        artifacts["scores"] = str(scores_path)
    pairs = sum(item.is_pair for item in items)
    return finish_run(
        method="score",
        config=config,
        snapshot=None,
        output_dir=output_dir,
        status="completed" if complete else "cancelled",
        metrics={
            "items": len(items),
            "pairs": pairs,
            "single_responses": len(items) - pairs,
            "distinct_texts": len(texts),
            "criteria_scored": sorted(scores),
            "max_length": {criterion: scored.max_length for criterion, scored in scores.items()},
            "truncated_texts": {criterion: scored.truncated for criterion, scored in scores.items()},
            "reward_models": reward_models,
        },
        artifacts=artifacts,
        parents=[entry["path"] for entry in config.reward_models],
        hardware=hardware,
    )
