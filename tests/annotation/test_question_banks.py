"""Question-bank and response imports through the service into the database: reports, filters, the split,
and all-or-nothing failure on bad input."""

import csv
import hashlib
import io
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from annotation.models import CandidateResponse, Question, QuestionBank, ResponseSet
from annotation.services.banks import (
    AlreadyImportedError,
    BankImportError,
    combined_sha256,
    question_bank_import,
    response_set_import,
)
from core.models import AuditEvent
from tests.annotation.data.epitome import MECHANISMS, epitome_like, seeker_post
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
    assert result.report["split"] == {"seed": "seed-1", "train": 2, "test": 1, "stratify_by": None}
    assert bank.import_settings["split_counts"] == {"train": 2, "test": 1}
    assert (bank.import_settings["test_count"], bank.import_settings["stratify_by"]) == (1, None)
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
    # The same rows in another order: other bytes (so not refused as a re-import), the same split.
    reordered = b"\n".join(reversed(response_table().split(b"\n")))
    second = question_bank_import(
        name="B",
        data=reordered,
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
            epitome_csv([["s1", "r1", "question one is here", "a reply\nthat was cut", "0", ""]])[:-20],
            "ends inside a quoted field that starts on line 2: it looks truncated",
        ),
        (b"", "empty"),
    ],
    ids=["missing-columns", "wrong-encoding", "truncated", "empty-file"],
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


# --- real-world quirks: repeated rows, several files, truncation, re-imports, stratification -------------

#: 40 questions (5 with a second response): 45 responses, then 6 repeated rows (2 disagreeing): 51 rows.
SMALL = {"questions": 40, "second_responses": 5, "repeats_same": 4, "repeats_disagree": 2}
#: A row repeating rp00003 with another response text: the one true conflict, rejected on its own.
CONFLICT = ["sp00001", "rp00003", seeker_post(1), "Another text.", "1", ""]


def _post_import(client, files, **fields):
    return client.post(
        "/annotation/banks/import/",
        {
            "source": "epitome",
            "file": [SimpleUploadedFile(name, data) for name, data in files],
            "split_seed": "s",
            "min_chars": 10,
            "max_chars": 10_000,
            "import_responses": "on",
            **fields,
        },
        follow=True,
    )


def _nothing_written() -> bool:
    return not (QuestionBank.objects.exists() or Question.objects.exists() or ResponseSet.objects.exists())


def test_epitome_like_file_with_repeated_rows_imports_through_the_page(client, researcher):
    sample = epitome_like(**SMALL)
    data = sample.csv([CONFLICT])
    client.force_login(researcher)
    response = _post_import(client, [(sample.file_name, data)], name="EPITOME ER", test_count=10)
    page = response.content.decode()
    assert (
        "Imported 40 questions (1 rows rejected). 6 repeated rows merged; 2 with disagreeing labels." in page
    )
    assert "6 repeated rows merged; 2 with disagreeing labels" in page.split("Import report")[0]
    bank = QuestionBank.objects.get(name="EPITOME ER")
    report = bank.import_report
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (52, 40, 1)
    assert (report["rows_merged"], report["merged_disagreeing"], report["responses_imported"]) == (6, 2, 45)
    assert "rp_id 'rp00003' already has a different text" in report["rejected"][0]["reason"]
    assert bank.questions.count() == 40 and bank.questions.filter(split="test").count() == 10
    assert bank.file_sha256 == hashlib.sha256(data).hexdigest()
    assert bank.import_settings["files"] == [
        {
            "name": sample.file_name,
            "sha256": bank.file_sha256,
            "bytes": len(data),
            "mechanism": "emotional_reactions",
        }
    ]
    responses = CandidateResponse.objects.filter(response_set__bank=bank)
    assert responses.count() == 45
    disagreeing = responses.get(external_id=sample.disagreeing_ids[0]).metadata
    assert len(disagreeing["levels"]) == 2 and disagreeing["levels"][0] != disagreeing["levels"][1]
    assert len(disagreeing["rationale_sets"]) == 2 and disagreeing["mechanism"] == "emotional_reactions"
    agreeing = responses.get(external_id=sample.repeated_ids[-1]).metadata
    assert agreeing["levels"][0] == agreeing["levels"][1] == agreeing["level"]
    # The multi-line quoted seeker posts arrive whole.
    assert bank.questions.get(external_id="sp00007").text.count("\n") == 2


def test_three_epitome_files_make_one_bank_with_responses_merged_across_them(client, researcher):
    files = [epitome_like(**SMALL, mechanism=mechanism) for mechanism in MECHANISMS]
    client.force_login(researcher)
    response = _post_import(client, [(f.file_name, f.csv()) for f in files], name="EPITOME", test_count=7)
    assert "Imported 40 questions (0 rows rejected). 18 repeated rows merged; 6 with disagreeing labels" in (
        response.content.decode()
    )
    bank = QuestionBank.objects.get(name="EPITOME")
    assert bank.questions.count() == 40 and bank.questions.filter(split="test").count() == 7
    assert [f["mechanism"] for f in bank.import_settings["files"]] == list(MECHANISMS)
    assert bank.file_sha256 == combined_sha256([f["sha256"] for f in bank.import_settings["files"]])
    responses = CandidateResponse.objects.filter(response_set__bank=bank)
    assert responses.count() == 45
    for metadata in responses.values_list("metadata", flat=True):
        assert set(metadata["annotations"]) == set(MECHANISMS)
    assert set(bank.questions.first().metadata["levels"]) == set(MECHANISMS)


def test_a_truncated_file_is_refused_through_the_page(client, researcher):
    sample = epitome_like(**SMALL)
    data = sample.csv([["sp09999", "rp09999", "A post\nwhose second line was cut off", "x", "1", ""]])
    truncated = data[: data.rindex(b"whose second")]
    line = truncated[: truncated.rindex(b'"')].count(b"\n") + 1
    client.force_login(researcher)
    page = _post_import(client, [("er.csv", truncated)], name="Cut").content.decode()
    message = f"the file ends inside a quoted field that starts on line {line}: it looks truncated"
    assert f"Nothing was imported: {message}" in page
    assert _nothing_written()


def test_the_same_bytes_are_imported_once(client, researcher):
    files = [epitome_like(**SMALL, mechanism=mechanism) for mechanism in MECHANISMS]
    inputs = [(f.file_name, f.csv()) for f in files]
    first = question_bank_import(name="First", files=inputs, source="epitome", created_by=researcher)
    with pytest.raises(AlreadyImportedError, match=rf"already imported as First \(id {first.bank.pk}\)"):
        # Other names, another order: the same bytes.
        renamed = [(f"copy-{name}", data) for name, data in reversed(inputs)]
        question_bank_import(name="Second", files=renamed, source="epitome", created_by=researcher)
    client.force_login(researcher)
    page = _post_import(client, [inputs[0]], name="Single").content.decode()  # one file of the three: new
    assert "Imported 40 questions" in page
    page = _post_import(client, [("again.csv", inputs[0][1])], name="Again").content.decode()
    single = QuestionBank.objects.get(name="Single")
    assert f"Nothing was imported: This file was already imported as Single (id {single.pk})." in page
    assert f'href="/annotation/banks/{single.pk}/"' in page
    assert sorted(QuestionBank.objects.values_list("name", flat=True)) == ["First", "Single"]
    with pytest.raises(BankImportError, match=r"given more than once: a\.csv, b\.csv"):
        question_bank_import(
            name="Twice",
            files=[("a.csv", inputs[0][1]), ("b.csv", inputs[0][1])],
            source="epitome",
            created_by=None,
        )


def test_a_response_file_is_imported_once_per_bank(researcher, bank_import):
    extra = response_table([("q1", "I feel so alone since I moved to a new city.")], k=3)
    first, report = response_set_import(
        bank=bank_import.bank, name="A", data=extra, source="response_table", created_by=researcher
    )
    assert report["file_sha256"] == hashlib.sha256(extra).hexdigest()
    with pytest.raises(
        AlreadyImportedError, match=rf"already imported into this bank as A \(id {first.pk}\)"
    ):
        response_set_import(
            bank=bank_import.bank, name="B", data=extra, source="response_table", created_by=None
        )
    # The bank's own responses came with its file: that file is refused as a response set too.
    with pytest.raises(AlreadyImportedError, match="Test bank: imported responses"):
        response_set_import(
            bank=bank_import.bank, name="C", data=response_table(), source="response_table", created_by=None
        )
    assert list(bank_import.bank.response_sets.order_by("pk").values_list("name", flat=True)) == [
        "Test bank: imported responses",
        "A",
    ]


def test_a_stratified_split_gives_each_level_its_share(researcher):
    sample = epitome_like(**{**SMALL, "questions": 200})
    result = question_bank_import(
        name="Stratified",
        files=[(sample.file_name, sample.csv())],
        source="epitome",
        created_by=researcher,
        test_fraction=0.3,
        split_seed="x",
        stratify_by="level",
    )
    bank = result.bank
    levels = dict(bank.questions.values_list("external_id", "metadata__level"))
    sizes = Counter(levels.values())
    in_test = Counter(
        levels[q] for q in bank.questions.filter(split="test").values_list("external_id", flat=True)
    )
    assert sum(in_test.values()) == 60
    for level, size in sizes.items():
        assert abs(in_test[level] - 0.3 * size) < 1
    assert result.report["split"]["strata"] == {
        str(level): {"train": size - in_test[level], "test": in_test[level]} for level, size in sizes.items()
    }
    settings = bank.import_settings
    assert {key: settings[key] for key in ("split_seed", "test_count", "test_fraction", "stratify_by")} == {
        "split_seed": "x",
        "test_count": None,
        "test_fraction": 0.3,
        "stratify_by": "level",
    }
    assert settings["split_counts"] == {"train": 140, "test": 60}
    assert result.summary()["strata"] == result.report["split"]["strata"]


def test_stratifying_by_a_key_no_question_has_is_refused(client, researcher):
    sample = epitome_like(**SMALL)
    client.force_login(researcher)
    page = _post_import(client, [(sample.file_name, sample.csv())], name="S", stratify_by="topic")
    text = page.content.decode()
    assert (
        "No question has &#x27;topic&#x27; in its metadata" in text
        and "keys found: level, source_ids" in text
    )
    assert _nothing_written()


def test_several_files_are_only_for_epitome(researcher):
    with pytest.raises(BankImportError, match="takes one file; only EPITOME takes several"):
        question_bank_import(
            name="Two tables",
            files=[("a.jsonl", response_table()), ("b.jsonl", response_table(k=2))],
            source="response_table",
            created_by=researcher,
        )
    assert _nothing_written()
