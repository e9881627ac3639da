"""The snapshot directory contract: what is read, what is rejected, and how pairs become TRL datasets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from training_worker.ml.snapshot import (
    SnapshotFormatError,
    completion_dataset,
    load_snapshot,
    preference_dataset,
)


@pytest.fixture
def snapshot_copy(snapshot_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(snapshot_dir, tmp_path / "snapshot"))


def test_manifest_and_pairs_are_read(snapshot_dir: Path) -> None:
    snapshot = load_snapshot(snapshot_dir)
    manifest = json.loads((snapshot_dir / "manifest.json").read_text())
    assert snapshot.snapshot_hash == manifest["snapshot_hash"]
    assert snapshot.criteria_set_key == "therapeutic"
    assert "empathy" in snapshot.criteria and "overall" in snapshot.criteria
    train, test = snapshot.pairs("empathy", "train"), snapshot.pairs("empathy", "test")
    assert len(train) == manifest["counts"]["pairs"]["empathy"]["train"]
    assert len(test) == manifest["counts"]["pairs"]["empathy"]["test"]
    assert {pair.question_id for pair in train}.isdisjoint({pair.question_id for pair in test})
    assert len(snapshot.questions("test")) == len(test)


def test_extra_metadata_keys_are_ignored(snapshot_copy: Path) -> None:
    path = snapshot_copy / "preferences" / "empathy.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0]["judge_model"] = "persona-llm"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    assert load_snapshot(snapshot_copy).pairs("empathy")[0].question_id == records[0]["question_id"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda record: record.pop("rejected"), "missing keys"),
        (lambda record: record.update(split="validation"), "split"),
        (lambda record: record.update(criterion="safety"), "does not match the file name"),
        (lambda record: record.update(chosen="  "), "non-empty string"),
    ],
)
def test_malformed_pairs_name_file_and_line(snapshot_copy: Path, mutate, message: str) -> None:
    path = snapshot_copy / "preferences" / "empathy.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    mutate(record)
    lines[1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SnapshotFormatError, match=rf"empathy.jsonl:2: .*{message}"):
        load_snapshot(snapshot_copy).pairs("empathy")


def test_invalid_json_line_is_reported(snapshot_copy: Path) -> None:
    (snapshot_copy / "preferences" / "safety.jsonl").write_text('{"prompt": \n')
    with pytest.raises(SnapshotFormatError, match=r"safety\.jsonl:1: not valid JSON"):
        load_snapshot(snapshot_copy).pairs("safety")


def test_manifest_problems(snapshot_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(SnapshotFormatError, match=r"manifest\.json is missing"):
        load_snapshot(tmp_path / "empty")
    manifest_path = snapshot_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["criteria_set"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(SnapshotFormatError, match="malformed manifest"):
        load_snapshot(snapshot_copy)


def test_listed_criterion_without_file(snapshot_copy: Path) -> None:
    (snapshot_copy / "preferences" / "patient_autonomy.jsonl").unlink()
    with pytest.raises(SnapshotFormatError, match=r"patient_autonomy\.jsonl is missing"):
        load_snapshot(snapshot_copy).pairs("patient_autonomy")


def test_conversational_preference_dataset(snapshot_dir: Path) -> None:
    pairs = load_snapshot(snapshot_dir).pairs("empathy", "train")
    row = preference_dataset(pairs, conversational=True)[0]
    assert row["prompt"] == [{"role": "user", "content": pairs[0].prompt}]
    assert row["chosen"] == [{"role": "assistant", "content": pairs[0].chosen}]
    assert row["rejected"] == [{"role": "assistant", "content": pairs[0].rejected}]
    plain = preference_dataset(pairs, conversational=False)[0]
    assert plain["prompt"] == pairs[0].prompt and plain["chosen"] == pairs[0].chosen


def test_completion_dataset_keeps_each_chosen_response_once(snapshot_dir: Path) -> None:
    snapshot = load_snapshot(snapshot_dir)
    pairs = snapshot.pairs("empathy", "train") * 2
    dataset = completion_dataset(pairs, conversational=True)
    assert len(dataset) == len({(p.prompt, p.chosen) for p in pairs})
    assert dataset[0]["completion"] == [{"role": "assistant", "content": pairs[0].chosen}]
