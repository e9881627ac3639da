"""Question-bank and response imports through the service into the database: reports, filters, the split,
and all-or-nothing failure on bad input."""

import csv
import io
from pathlib import Path

import pytest
from django.db.models import Count

from annotation.models import CandidateResponse, Question, QuestionBank, ResponseSet
from annotation.services.banks import BankImportError, question_bank_import, response_set_import
from core.models import AuditEvent
from tests.preference_data import response_table

pytestmark = pytest.mark.django_db

COUNSEL_CHAT = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "counsel_chat"
    / "20200325_counsel_chat.csv"
)


def epitome_csv(rows) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


EPITOME_ROWS = [
    [
        "s1",
        "r1",
        "I feel so alone lately and nobody calls me.",
        "That sounds really hard.",
        "2",
        "sounds hard|",
    ],
    ["s1", "r2", "I feel so alone lately and nobody calls me.", "Have you tried going out?", "0", ""],
    ["s2", "r3", "Nobody listens to me at home, ever.", "I hear you. What happened?", "1", ""],
    ["s3", "r4", "ok", "Fine.", "0", ""],  # too short for the filter below
    ["s4", "r5", "NOBODY listens to me at home,   ever.", "Same text as s2 after normalising.", "0", ""],
    ["s5", "r6", "Work is crushing me and I cannot rest.", "", "0", ""],  # empty response_post
]


def test_epitome_import_reports_dedupes_filters_and_splits(researcher):
    result = question_bank_import(
        name="EPITOME sample",
        data=epitome_csv(EPITOME_ROWS),
        source=QuestionBank.Source.EPITOME,
        created_by=researcher,
        file_name="emotional-reactions.csv",
        min_chars=5,
        test_count=1,
        split_seed="seed-1",
    )
    bank = result.bank
    # One question per unique sp_id; s4's text equals s2's (merged); s3 is too short (filtered).
    assert set(bank.questions.values_list("external_id", flat=True)) == {"s1", "s2", "s5"}
    assert result.report["rows_accepted"] == 3
    assert [issue["record_id"] for issue in result.report["filtered"]] == ["s3"]
    assert "minimum 5" in result.report["filtered"][0]["reason"]
    assert any("response_post is empty" in issue["reason"] for issue in result.report["rejected"])
    assert result.report["merged"] and "s4" in result.report["merged"][0]["reason"]
    assert result.report["rows_rejected"] == len(result.report["rejected"]) + 1
    assert result.report["split"] == {"seed": "seed-1", "train": 2, "test": 1}
    assert bank.questions.filter(split="test").count() == 1
    # Responses: r1, r2 (s1), r3 and r5 (s2, merged), none for the filtered s3.
    assert result.response_set is not None
    responses = CandidateResponse.objects.filter(response_set=result.response_set)
    assert sorted(responses.values_list("external_id", flat=True)) == ["r1", "r2", "r3", "r5"]
    assert list(
        responses.filter(question__external_id="s1").order_by("index").values_list("index", flat=True)
    ) == [0, 1]
    assert responses.get(external_id="r1").origin == "epitome"
    assert AuditEvent.objects.filter(action="question_bank.import", object_id=str(bank.pk)).exists()


def test_same_seed_same_split(researcher):
    first = question_bank_import(
        name="A",
        data=response_table(),
        source=QuestionBank.Source.RESPONSE_TABLE,
        created_by=researcher,
        test_fraction=0.5,
        split_seed="x",
    )
    second = question_bank_import(
        name="B",
        data=response_table(),
        source=QuestionBank.Source.RESPONSE_TABLE,
        created_by=researcher,
        test_fraction=0.5,
        split_seed="x",
    )
    split = lambda bank: dict(bank.questions.values_list("external_id", "split"))  # noqa: E731
    assert split(first.bank) == split(second.bank)
    assert sorted(split(first.bank).values()) == ["test", "test", "train", "train"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"sp_id,seeker_post\ns1,hello there\n", "missing required column"),
        (
            "sp_id,rp_id,seeker_post,response_post\ns1,r1,caf\u00e9 au lait,x\n".encode("latin-1"),
            "not valid UTF-8",
        ),
        (
            epitome_csv(
                [
                    ["s1", "r1", "question one is here", "a", "0", ""],
                    ["s2", "r1", "question two is here", "b", "0", ""],
                ]
            ),
            "duplicate rp_id",
        ),
        (b"", "empty"),
    ],
    ids=["missing-columns", "wrong-encoding", "duplicate-ids", "empty-file"],
)
def test_a_failed_import_changes_nothing(researcher, data, message):
    with pytest.raises(BankImportError, match=message):
        question_bank_import(
            name="Broken", data=data, source=QuestionBank.Source.EPITOME, created_by=researcher
        )
    assert not QuestionBank.objects.exists()
    assert not Question.objects.exists()
    assert not ResponseSet.objects.exists()


def test_a_giant_field_rejects_only_its_row(researcher):
    rows = [
        ["s1", "r1", "A normal question about sleep.", "ok", "0", ""],
        ["s2", "r2", "x" * 30_000, "ok", "0", ""],
    ]
    result = question_bank_import(
        name="Giant",
        data=epitome_csv(rows),
        source=QuestionBank.Source.EPITOME,
        created_by=researcher,
        test_count=0,
    )
    assert list(result.bank.questions.values_list("external_id", flat=True)) == ["s1"]
    assert "30000 characters" in result.report["rejected"][0]["reason"]


def test_nothing_passing_the_filters_is_an_error(researcher):
    with pytest.raises(BankImportError, match="length filter"):
        question_bank_import(
            name="Too short",
            data=response_table(),
            source=QuestionBank.Source.RESPONSE_TABLE,
            created_by=researcher,
            min_chars=500,
        )
    assert not QuestionBank.objects.exists()


def test_a_name_can_be_used_once(researcher, bank_import):
    with pytest.raises(BankImportError, match="already exists"):
        question_bank_import(
            name="Test bank",
            data=response_table(),
            source=QuestionBank.Source.RESPONSE_TABLE,
            created_by=researcher,
        )
    assert QuestionBank.objects.count() == 1


def test_response_set_import_matches_questions_and_reports_the_rest(researcher, bank_import):
    extra = response_table(
        [("q1", "I feel so alone since I moved to a new city."), ("zz", "A question not in the bank.")], k=3
    )
    response_set, report = response_set_import(
        bank=bank_import.bank,
        name="Model A",
        data=extra,
        source=QuestionBank.Source.RESPONSE_TABLE,
        response_origin="model-a",
        created_by=researcher,
    )
    assert response_set.responses.count() == 3
    assert set(response_set.responses.values_list("origin", flat=True)) == {"model-a"}
    assert [issue["record_id"] for issue in report["filtered"]] == ["zz"]
    with pytest.raises(BankImportError, match="No response belongs"):
        response_set_import(
            bank=bank_import.bank,
            name="Nothing",
            data=response_table([("zz", "A question not in the bank.")]),
            source=QuestionBank.Source.RESPONSE_TABLE,
            created_by=researcher,
        )
    assert not ResponseSet.objects.filter(name="Nothing").exists()


@pytest.mark.skipif(
    not COUNSEL_CHAT.exists(), reason="Counsel Chat file not present (../shared/data/counsel_chat)"
)
def test_real_counsel_chat_file_imports_without_therapist_names_or_urls(researcher):
    raw = COUNSEL_CHAT.read_bytes()
    result = question_bank_import(
        name="Counsel Chat",
        data=raw,
        source=QuestionBank.Source.COUNSEL_CHAT,
        created_by=researcher,
        file_name=COUNSEL_CHAT.name,
        max_responses_per_question=5,
        test_fraction=0.2,
        split_seed="study",
    )
    bank = result.bank
    n_questions = bank.questions.count()
    # 815 questionIDs; questions are keyed by their text (some ids are reused for different questions).
    assert result.report["facts"]["source_question_ids"] == 815
    assert (
        n_questions
        == result.report["rows_accepted"]
        == result.report["accepted_questions"] - len(result.report["filtered"])
    )
    assert 800 <= n_questions <= 850
    assert bank.questions.filter(split="test").count() == round(0.2 * n_questions)
    responses = CandidateResponse.objects.filter(response_set=result.response_set)
    assert responses.count() > 1500
    per_question = responses.values("question").order_by().annotate(n=Count("id")).values_list("n", flat=True)
    assert max(per_question) == 5
    rankable = bank.questions.filter(responses__response_set=result.response_set).distinct().count()
    assert rankable <= n_questions
    # The therapists' names and profile URLs are never stored, neither as columns nor inside answers.
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    urls = {row["therapistURL"] for row in rows if row["therapistURL"]}
    texts = list(responses.values_list("text", flat=True))
    assert not any("counselchat.com" in text for text in texts)
    assert not any("http://" in text or "https://" in text for text in texts)
    assert not any(url in text for url in list(urls)[:200] for text in texts)
    metadata_keys = {key for meta in responses.values_list("metadata", flat=True) for key in meta}
    assert not metadata_keys & {"therapistInfo", "therapistURL", "questionLink"}
    assert "therapistInfo" in result.report["facts"]["dropped_columns"]
