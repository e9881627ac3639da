"""The import_question_bank command: the import page's service from files on disk, the report as one JSON
document, and refusals as a non-zero exit with the reason on stderr and nothing written."""

import hashlib
import io
import json

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connections

from annotation.models import CandidateResponse, Question, QuestionBank, ResponseSet
from core.models import AuditEvent
from tests.annotation.data.epitome import MECHANISMS, epitome_like, seeker_post

pytestmark = pytest.mark.django_db

SMALL = {"questions": 40, "second_responses": 5, "repeats_same": 4, "repeats_disagree": 2}


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _import(*args: str) -> dict:
    out = io.StringIO()
    call_command("import_question_bank", *args, stdout=out)
    return json.loads(out.getvalue())


def test_an_epitome_like_file_imports_with_its_report_as_json(tmp_path):
    sample = epitome_like(**SMALL)
    conflict = ["sp00001", "rp00003", seeker_post(1), "Another text.", "1", ""]
    data = sample.csv([conflict])
    path = _write(tmp_path, sample.file_name, data)
    report = _import("--source", "epitome", "--name", "ER", "--test-count", "10", "--seed", "s", path)
    bank = QuestionBank.objects.get(name="ER")
    expected = {"bank_id": bank.pk, "file_sha256": hashlib.sha256(data).hexdigest(), "questions": 40}
    expected |= {"train": 30, "test": 10, "responses": 45, "rows_read": 52, "rows_rejected": 1}
    expected |= {"rows_merged": 6, "merged_disagreeing": 2, "stratify_by": None}
    assert {key: report[key] for key in expected} == expected
    assert report["files"] == [
        {
            "name": sample.file_name,
            "sha256": expected["file_sha256"],
            "bytes": len(data),
            "mechanism": "emotional_reactions",
        }
    ]
    assert bank.questions.filter(split="test").count() == 10
    assert CandidateResponse.objects.filter(response_set_id=report["response_set_id"]).count() == 45
    event = AuditEvent.objects.get(action="question_bank.import", object_id=str(bank.pk))
    assert event.actor is None and event.detail["merged"] == 6


def test_three_epitome_files_with_an_exact_test_count_and_a_stratified_split(tmp_path):
    paths = [
        _write(tmp_path, f.file_name, f.csv())
        for f in (epitome_like(**SMALL, mechanism=m) for m in MECHANISMS)
    ]
    report = _import(
        "--source", "epitome", "--name", "EPITOME", "--test-count", "7",
        "--stratify-by", "levels.explorations", *paths,
    )  # fmt: skip
    assert (report["questions"], report["train"], report["test"], report["responses"]) == (40, 33, 7, 45)
    assert (report["rows_read"], report["rows_merged"], report["merged_disagreeing"]) == (153, 18, 6)
    assert [f["mechanism"] for f in report["files"]] == list(MECHANISMS)
    assert sum(counts["test"] for counts in report["strata"].values()) == 7
    bank = QuestionBank.objects.get(pk=report["bank_id"])
    assert bank.import_settings["stratify_by"] == "levels.explorations"
    assert bank.questions.count() == 40 and bank.questions.filter(split="test").count() == 7


def test_refusals_exit_non_zero_with_the_reason_on_stderr_and_write_nothing(tmp_path, capsys, monkeypatch):
    # Run as from a shell (exit status, stderr); a command run that way closes every connection when it
    # ends, which would end this test's transaction, so keep the connection open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    sample = epitome_like(**SMALL)
    whole = sample.csv([["sp09999", "rp09999", "A post\nwhose second line was cut off", "x", "1", ""]])
    truncated = _write(tmp_path, "er.csv", whole[: whole.rindex(b"whose second")])
    command = ["manage.py", "import_question_bank", "--source", "epitome", "--name", "Cut"]
    with pytest.raises(SystemExit) as exit_status:
        execute_from_command_line([*command, truncated])
    assert exit_status.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Nothing was imported: the file ends inside a quoted field that starts on line" in captured.err
    assert "it looks truncated" in captured.err
    assert not (QuestionBank.objects.exists() or Question.objects.exists() or ResponseSet.objects.exists())

    with pytest.raises(SystemExit) as exit_status:
        execute_from_command_line([*command, str(tmp_path / "missing.csv")])
    assert exit_status.value.code != 0 and "Cannot read" in capsys.readouterr().err


def test_the_same_bytes_twice_are_refused(tmp_path):
    path = _write(
        tmp_path, "questions.jsonl", b'{"question_id": "a", "question_text": "How do I sleep again?"}\n'
    )
    first = _import("--source", "questions", "--name", "Q", "--test-count", "0", path)
    copy = _write(tmp_path, "copy.jsonl", (tmp_path / "questions.jsonl").read_bytes())
    with pytest.raises(CommandError, match=rf"already imported as Q \(id {first['bank_id']}\)"):
        _import("--source", "questions", "--name", "Q2", copy)
    assert QuestionBank.objects.count() == 1
