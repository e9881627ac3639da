"""The Django-free scoring runner (method "score"): tiny reward models score pairs and single responses."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest

from training_worker.ml import score as score_module
from training_worker.ml.cli import main
from training_worker.ml.configs import ScoreRunConfig
from training_worker.ml.registry import METHODS
from training_worker.ml.runtime import write_artifact_metadata
from training_worker.ml.score import read_items, run_score
from training_worker.ml.scoring import RewardScorer
from training_worker.ml.tiny_models import build_tiny_bert

ITEMS = [
    {
        "item_id": "1",
        "prompt": "I cannot sleep.",
        "response_a": "That sounds hard.",
        "response_b": "Just sleep.",
    },
    {
        "item_id": "2",
        "prompt": "I cannot sleep.",
        "response_a": "Just sleep.",
        "response_b": "That sounds hard.",
    },
    {"item_id": "3", "prompt": "I feel alone.", "response_a": "You are not alone.", "response_b": "Okay."},
]


@pytest.fixture(scope="module")
def reward_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reward_models")
    models = {}
    for seed, criterion in enumerate(("empathy", "safety")):
        path = build_tiny_bert(root / criterion, seed=seed)
        write_artifact_metadata(path, {"kind": "reward_model", "criterion": criterion, "max_length": 64})
        models[criterion] = path
    return models


def _items_file(directory: Path) -> Path:
    path = directory / "items.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    return path


def _config(reward_models, **overrides) -> ScoreRunConfig:
    entries = [{"criterion": c, "path": str(p)} for c, p in reward_models.items()]
    return ScoreRunConfig(reward_models=entries, batch_size=2, precision="fp32", **overrides)


def test_every_item_gets_both_rewards_of_every_criterion(tmp_path, reward_models):
    items = _items_file(tmp_path)
    result = run_score(_config(reward_models, items=str(items)), None, tmp_path / "out")
    assert result["status"] == "completed" and result["method"] == "score"
    assert result["metrics"]["items"] == 3 and result["metrics"]["distinct_texts"] == 4
    assert result["metrics"]["reward_models"]["empathy"]["criterion"] == "empathy"
    rows = [json.loads(line) for line in Path(result["artifacts"]["scores"]).read_text().splitlines()]
    assert [row["item_id"] for row in rows] == ["1", "2", "3"]
    scorer = RewardScorer(reward_models["empathy"], device="cpu")
    direct = scorer.score([i["prompt"] for i in ITEMS], [i["response_a"] for i in ITEMS]).tolist()
    assert [row["scores"]["empathy"][0] for row in rows] == pytest.approx(direct, abs=1e-5)
    # The same (prompt, response) gets the same reward whichever position it is in.
    assert rows[0]["scores"]["safety"] == pytest.approx(rows[1]["scores"]["safety"][::-1])


def test_a_redelivered_run_reuses_finished_criteria(tmp_path, reward_models, monkeypatch):
    items = _items_file(tmp_path)
    first = run_score(_config(reward_models, items=str(items)), None, tmp_path / "out")

    def refuse(*args, **kwargs):
        raise AssertionError("scored again")

    monkeypatch.setattr(score_module, "_score_texts", refuse)
    second = run_score(_config(reward_models, items=str(items)), None, tmp_path / "out")
    assert Path(second["artifacts"]["scores"]).read_text() == Path(first["artifacts"]["scores"]).read_text()


def test_single_responses_get_one_reward_per_criterion_alongside_pairs(tmp_path, reward_models):
    """Generation output scores as it is: a reward per response per criterion; pairs keep their two."""
    singles = [
        {
            "item_id": "q1:0",
            "question_id": "q1",
            "index": 0,
            "prompt": "I cannot sleep.",
            "response": "Just sleep.",
        },
        {"item_id": "q2:0", "question_id": "q2", "index": 0, "prompt": "I feel alone.", "response": "Okay."},
    ]
    items = tmp_path / "mixed.jsonl"
    items.write_text("".join(json.dumps(row) + "\n" for row in [*singles, ITEMS[0]]))
    result = run_score(_config(reward_models, items=str(items)), None, tmp_path / "out")
    metrics = result["metrics"]
    assert (metrics["items"], metrics["pairs"], metrics["single_responses"]) == (3, 1, 2)
    # "Just sleep." for "I cannot sleep." appears as a single response and in the pair: scored once.
    assert metrics["distinct_texts"] == 3
    assert metrics["truncated_texts"] == {"empathy": 0, "safety": 0}
    assert metrics["max_length"] == {"empathy": 64, "safety": 64}
    rows = [json.loads(line) for line in Path(result["artifacts"]["scores"]).read_text().splitlines()]
    scorer = RewardScorer(reward_models["safety"], device="cpu")
    direct = scorer.score([row["prompt"] for row in singles], [row["response"] for row in singles]).tolist()
    assert [row["scores"]["safety"] for row in rows[:2]] == pytest.approx(direct, abs=1e-5)
    assert rows[2]["scores"]["safety"][1] == pytest.approx(direct[0], abs=1e-5)


def test_texts_over_the_reward_models_limit_are_counted(tmp_path, reward_models):
    """The reward models were trained with max_length 64; longer texts are cut to it and counted."""
    long_text = " ".join(["sleep"] * 200)
    items = tmp_path / "long.jsonl"
    rows = [{"item_id": "long", "prompt": "I cannot sleep.", "response": long_text}, *ITEMS[:1]]
    items.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = run_score(_config(reward_models, items=str(items)), None, tmp_path / "out")
    assert result["metrics"]["truncated_texts"] == {"empathy": 1, "safety": 1}
    with pytest.raises(ValueError, match="max_length 600 is above the 512-token limit of reward model"):
        run_score(_config(reward_models, items=str(items), max_length=600), None, tmp_path / "o2")


def test_bad_configs_and_items_fail_clearly(tmp_path, reward_models):
    with pytest.raises(ValueError, match="Two reward models"):
        ScoreRunConfig(reward_models=[{"criterion": "a", "path": "x"}, {"criterion": "a", "path": "y"}])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"item_id": "1", "prompt": "p"}\n')
    with pytest.raises(ValueError, match="line 1: needs either a string 'response'"):
        read_items(bad)
    both = tmp_path / "both.jsonl"
    both.write_text(json.dumps({**ITEMS[0], "response": "r"}) + "\n")
    with pytest.raises(ValueError, match="not both"):
        read_items(both)
    swapped = [{"criterion": "safety", "path": str(reward_models["empathy"])}]
    with pytest.raises(ValueError, match="scores 'empathy'"):
        run_score(
            ScoreRunConfig(reward_models=swapped, items=str(_items_file(tmp_path))), None, tmp_path / "o2"
        )


def test_cli_scores_items_in_the_snapshot_directory(tmp_path, reward_models, capsys):
    assert (METHODS["score"].config_class, METHODS["score"].load_runner()) == (ScoreRunConfig, run_score)
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    _items_file(snapshot)
    config = tmp_path / "score.json"
    config.write_text(
        json.dumps({"reward_models": [{"criterion": "empathy", "path": str(reward_models["empathy"])}]})
    )
    code = main(
        [
            "train",
            "--method",
            "score",
            "--snapshot",
            str(snapshot),
            "--config",
            str(config),
            "--output",
            str(tmp_path / "cli"),
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["items"] == 3
