"""Question-bank and candidate-response importers: EPITOME, Counsel Chat, plain tables, splits (no Django)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from annotation.importers import (
    ImportFormatError,
    ImportLimits,
    normalize_text,
    parse_counsel_chat,
    parse_epitome,
    parse_question_table,
    parse_response_table,
    questions_with_min_responses,
    split_train_test,
    text_fingerprint,
)

COUNSEL_CHAT = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "counsel_chat"
    / "20200325_counsel_chat.csv"
)


def _csv_bytes(header, rows, *, encoding="utf-8"):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def _jsonl_bytes(objects):
    return "\n".join(json.dumps(o) for o in objects).encode("utf-8")


EPITOME_HEADER = ["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]


def _epitome_rows():
    return [
        ["s1", "r1", "I feel so alone lately.", "That sounds really hard.", "2", "sounds really hard|"],
        ["s1", "r2", "I feel so alone lately.", "Have you tried going out?", "0", ""],
        [
            "s2",
            "r3",
            "Nobody listens to me\nat home.",
            "I hear you. What happened?",
            "1",
            "I hear you|What happened|",
        ],
        [
            "s3",
            "r4",
            "  i feel SO alone   lately. ",
            "You are not alone.",
            "1",
            "",
        ],  # same text as s1 -> merged
        ["s1", "r5", "A different post for s1", "Reply", "1", ""],  # conflicting sp_id text -> rejected
        ["s4", "r6", "Exams are crushing me.", "", "1", ""],  # empty response -> rejected (question kept)
        ["s4", "r7", "Exams are crushing me.", "That is a lot of pressure.", "7", ""],  # bad level
        ["s4", "r8", "Exams are crushing me.", "That is a lot of pressure.", "", ""],
        ["s4", "r9", "Exams are crushing me.", "that is a LOT of pressure. ", "2", ""],  # duplicate text
    ]


# --- EPITOME --------------------------------------------------------------------------------------


def test_epitome_csv_one_question_per_sp_id_with_candidate_responses():
    result = parse_epitome(_csv_bytes(EPITOME_HEADER, _epitome_rows()), mechanism="emotional_reactions")
    report = result.report
    assert report.file_format == "csv"
    assert report.rows_read == 9
    assert [q.external_id for q in result.questions] == ["s1", "s2", "s4"]
    s1 = result.questions[0]
    assert s1.text == "I feel so alone lately."
    assert s1.metadata["source_ids"] == ["s1", "s3"]
    assert s1.source == "epitome"
    assert s1.text_sha256 == text_fingerprint("i feel so alone lately.")
    assert result.questions[1].text == "Nobody listens to me\nat home."

    by_id = {r.external_id: r for r in result.responses}
    assert set(by_id) == {"r1", "r2", "r3", "r4", "r8"}
    assert by_id["r4"].question_external_id == "s1"  # merged question
    assert by_id["r1"].origin == "epitome"
    assert by_id["r1"].metadata == {
        "sp_id": "s1",
        "level": 2,
        "rationales": ["sounds really hard"],
        "mechanism": "emotional_reactions",
    }
    assert by_id["r8"].metadata["level"] is None
    assert by_id["r3"].metadata["rationales"] == ["I hear you", "What happened"]

    reasons = {issue.row: issue.reason for issue in report.rejected}
    assert set(reasons) == {5, 6, 7, 9}
    assert "different seeker_post" in reasons[5]
    assert "response_post is empty" in reasons[6]
    assert "level must be 0, 1 or 2" in reasons[7]
    assert "duplicate response" in reasons[9] and "r8" in reasons[9]
    assert [m.row for m in report.merged] == [4]
    assert report.accepted_questions == 3 and report.accepted_responses == 5
    assert report.rows_read == report.accepted_responses + len(report.rejected)


def test_epitome_jsonl_equivalent_and_bad_lines_rejected_per_row():
    objects = [dict(zip(EPITOME_HEADER, row, strict=True)) for row in _epitome_rows()]
    objects[2]["rationales"] = ["I hear you", "What happened"]  # JSONL may carry a list
    data = _jsonl_bytes(objects) + b"\n{not json}\n[1, 2]\n\n"
    result = parse_epitome(data)
    assert result.report.file_format == "jsonl"
    assert [q.external_id for q in result.questions] == ["s1", "s2", "s4"]
    assert {r.external_id for r in result.responses} == {"r1", "r2", "r3", "r4", "r8"}
    reasons = {issue.row: issue.reason for issue in result.report.rejected}
    assert reasons[10].startswith("invalid JSON")
    assert reasons[11] == "line is not a JSON object"
    assert result.responses[2].metadata["rationales"] == ["I hear you", "What happened"]


def test_epitome_duplicate_rp_id_is_fatal_with_rows():
    rows = [["s1", "r1", "post", "reply a", "1", ""], ["s2", "r1", "other post", "reply b", "1", ""]]
    with pytest.raises(ImportFormatError, match=r"duplicate rp_id ids: 'r1' \(rows 1 and 2\)"):
        parse_epitome(_csv_bytes(EPITOME_HEADER, rows))


def test_epitome_missing_columns_is_fatal():
    data = _csv_bytes(["sp_id", "seeker_post", "response_post"], [["s1", "post", "reply"]])
    with pytest.raises(ImportFormatError, match=r"missing required column.*rp_id"):
        parse_epitome(data)
    with pytest.raises(ImportFormatError, match="no line has the required fields"):
        parse_epitome(_jsonl_bytes([{"sp_id": "s1"}]))


def test_giant_fields_reject_only_their_row():
    limits = ImportLimits(max_question_chars=1000, max_response_chars=1000)
    huge = "x" * 300_000  # larger than the csv module's default field limit
    rows = [
        ["s1", "r1", "fine post", "fine reply", "1", ""],
        ["s2", "r2", huge, "reply", "1", ""],
        ["s1", "r3", "fine post", huge, "1", ""],
        ["s5", "r4", "nul\x00post", "reply", "1", ""],
    ]
    result = parse_epitome(_csv_bytes(EPITOME_HEADER, rows), limits=limits)
    reasons = {issue.row: issue.reason for issue in result.report.rejected}
    assert reasons[2] == "seeker_post has 300000 characters (limit 1000)"
    assert reasons[3] == "response_post has 300000 characters (limit 1000)"
    assert reasons[4] == "seeker_post contains a NUL character"
    assert [r.external_id for r in result.responses] == ["r1"]


def test_multiline_records_report_their_starting_line():
    rows = [
        ["s1", "r1", "line one\nline two\nline three", "reply", "1", ""],
        ["s2", "r2", "post", "", "1", ""],
    ]
    result = parse_epitome(_csv_bytes(EPITOME_HEADER, rows))
    (issue,) = result.report.rejected
    assert (issue.row, issue.line) == (2, 5)


# --- encoding and framing -------------------------------------------------------------------------


def test_non_utf8_input_fails_clearly():
    data = _csv_bytes(EPITOME_HEADER, [["s1", "r1", "caf\u00e9 blues", "reply", "1", ""]], encoding="latin-1")
    with pytest.raises(ImportFormatError, match=r"not valid UTF-8.*line 2"):
        parse_epitome(data)


def test_bom_and_binary_file_objects_are_accepted_text_mode_is_not():
    data = "\ufeff".encode() + _csv_bytes(EPITOME_HEADER, [["s1", "r1", "post", "reply", "1", ""]])
    assert parse_epitome(io.BytesIO(data)).report.accepted_responses == 1
    with pytest.raises(ImportFormatError, match="binary mode"):
        parse_epitome(io.StringIO(data.decode("utf-8-sig")))  # type: ignore[arg-type]


def test_empty_oversized_and_unusable_inputs():
    with pytest.raises(ImportFormatError, match="empty"):
        parse_epitome(b"", file_format="csv")
    with pytest.raises(ImportFormatError, match="larger than"):
        parse_epitome(b"x" * 101, limits=ImportLimits(max_input_bytes=100))
    with pytest.raises(ImportFormatError, match="no usable rows"):
        parse_epitome(_csv_bytes(EPITOME_HEADER, [["", "r1", "post", "reply", "1", ""]]))
    with pytest.raises(ImportFormatError, match="duplicate column"):
        parse_epitome(b"sp_id,sp_id,rp_id,seeker_post,response_post\n")


def test_rows_with_wrong_field_counts_are_rejected():
    data = b"sp_id,rp_id,seeker_post,response_post\ns1,r1,post,reply\ns2,r2,post two\n"
    result = parse_epitome(data)
    assert result.report.rejected[0].row == 2
    assert "expected 4 fields, found 3" in result.report.rejected[0].reason


# --- plain tables ---------------------------------------------------------------------------------


def test_response_table_in_the_study_scripts_layout():
    header = ["question_id", "question_text", "response_id", "response_text", "temperature"]
    rows = [
        ["q1", "How do I cope?", "1", "Breathe slowly.", "0.8"],
        ["q1", "How do I cope?", "2", "Talk to someone you trust.", "0.8"],
        ["q1", "How do I cope?", "3", "breathe   slowly.", "0.8"],
        ["q2", "Why am I tired?", "1", "Sleep matters.", "0.8"],
    ]
    result = parse_response_table(_csv_bytes(header, rows), origin="mistral-7b-instruct-v0.2@t0.8")
    assert [r.external_id for r in result.responses] == ["q1:1", "q1:2", "q2:1"]
    assert result.responses[0].metadata == {"response_id": "1", "temperature": "0.8"}
    assert result.responses[0].origin == "mistral-7b-instruct-v0.2@t0.8"
    assert "duplicate response" in result.report.rejected[0].reason
    assert [q.external_id for q in questions_with_min_responses(result, k=2)] == ["q1"]
    with pytest.raises(ImportFormatError, match="duplicate"):
        parse_response_table(_csv_bytes(header, [rows[0], rows[0]]), origin="x")


def test_question_table_merges_same_text_and_rejects_duplicate_ids():
    data = _jsonl_bytes(
        [
            {"question_id": "a", "question_text": "Hello there", "topic": "x"},
            {"question_id": "b", "question_text": "hello   THERE"},
            {"question_id": "c", "question_text": "Something else"},
        ]
    )
    result = parse_question_table(data)
    assert [q.external_id for q in result.questions] == ["a", "c"]
    assert result.questions[0].metadata == {"source_ids": ["a", "b"], "topic": "x"}
    with pytest.raises(ImportFormatError, match="duplicate question ids"):
        parse_question_table(_jsonl_bytes([{"question_id": "a", "question_text": "x"}] * 2))


def test_normalize_text():
    assert normalize_text("  Caf\u00e9\u00a0 ALONE\n\tnow ") == "café alone now"
    assert normalize_text("\uff21") == "a"  # NFKC folds full-width letters


# --- split ----------------------------------------------------------------------------------------


def test_split_reproduces_the_study_sizes_deterministically_and_independent_of_order():
    ids = [f"sp{i:05d}" for i in range(2979)]
    split = split_train_test(ids, seed=42, test_count=600)
    assert (len(split.train), len(split.test)) == (2379, 600)
    assert set(split.train).isdisjoint(split.test)
    assert set(split.train) | set(split.test) == set(ids)
    again = split_train_test(list(reversed(ids)), seed=42, test_count=600)
    assert set(again.test) == set(split.test)
    assert set(split_train_test(ids, seed=43, test_count=600).test) != set(split.test)
    assert split.test == tuple(i for i in ids if i in set(split.test))  # input order kept
    by_fraction = split_train_test(ids, seed=42, test_fraction=600 / 2979)
    assert by_fraction.test == split.test


def test_split_argument_errors():
    with pytest.raises(ValueError):
        split_train_test(["a", "a"], seed=1, test_count=1)
    with pytest.raises(ValueError):
        split_train_test(["a", "b"], seed=1)
    with pytest.raises(ValueError):
        split_train_test(["a", "b"], seed=1, test_count=3)
    assert split_train_test(["a", "b", "c"], seed=1, test_fraction=0.5).test.__len__() == 2  # 1.5 rounds up


# --- Counsel Chat: synthetic ----------------------------------------------------------------------

CC_HEADER = [
    "",
    "questionID",
    "questionTitle",
    "questionText",
    "questionLink",
    "topic",
    "therapistInfo",
    "therapistURL",
    "answerText",
    "upvotes",
    "views",
    "split",
]


def _cc_rows():
    url_a = "https://counselchat.com/therapists/jane-doe-lcsw"
    info_a = "Jane Doe, LCSWCouples therapist"
    url_b = "https://counselchat.com/therapists/sam-smithers-2"
    info_b = "Sam SmithersHelping you heal"
    link = "https://counselchat.com/questions/why-so-sad"
    answer = "Crying can help. See https://example.org/tips or www.help.com.Be well,Jane Doe, LCSW"
    return [
        ["0", "0", "Why so sad?", "I cry every day.", link, "depression", info_a, url_a,
         answer, "3", "100", "train"],
        ["1", "0", "Why so sad?", "I cry every day.", link, "depression", info_b, url_b,
         "Hi, I'm Sam! Talk to someone. Email me: sam@smithers.com. ~Sam", "1", "50", "train"],
        # Same question under another ID and topic, repeated answer -> merged question, duplicate answer.
        ["2", "7", "Why so sad?", "I cry every day.", link, "grief", info_a, url_a,
         answer, "3", "100", "train"],
        # questionID 0 reused for a different question -> a separate question.
        ["3", "0", "Can I trust again?", "After betrayal.", link, "trust", info_b, url_b,
         "Yes, slowly. Dr. Smithers", "n/a", "10", "test"],
    ]  # fmt: skip


def test_counsel_chat_synthetic_drops_identifying_columns_and_scrubs_answers():
    result = parse_counsel_chat(_csv_bytes(CC_HEADER, _cc_rows()))
    report = result.report
    assert len(result.questions) == 2
    sad, trust = result.questions
    assert sad.text == "Why so sad?\n\nI cry every day."
    assert sad.external_id == "cc-q-" + sad.text_sha256[:16]
    assert sad.metadata == {
        "source_question_ids": ["0", "7"],
        "topics": ["depression", "grief"],
        "splits": ["train"],
    }
    assert trust.metadata["source_question_ids"] == ["0"]
    assert [r.external_id for r in result.responses] == ["cc-a-0", "cc-a-1", "cc-a-3"]
    first, second, third = result.responses
    assert first.text == "Crying can help. See [link] or [link] Be well,[therapist], LCSW"
    assert second.text == "Hi, I'm [therapist]! Talk to someone. Email me: [email]. ~[therapist]"
    assert third.text == "Yes, slowly. Dr. [therapist]"
    assert first.metadata == {
        "upvotes": 3,
        "views": 100,
        "topic": "depression",
        "split": "train",
        "source_question_id": "0",
    }
    assert third.metadata["upvotes"] is None
    assert any("upvotes is not an integer" in w.reason for w in report.warnings)
    assert any("questionID 0 is used for 2 different questions" in w.reason for w in report.warnings)
    assert [m.reason for m in report.merged] == ["questionID 7 has the same text as questionID 0; merged"]
    (duplicate,) = report.rejected
    assert duplicate.row == 3 and "duplicate response" in duplicate.reason and "cc-a-0" in duplicate.reason
    dumped = json.dumps([r.__dict__ for r in result.responses] + [q.__dict__ for q in result.questions])
    for forbidden in ("Jane", "Doe", "Smithers", "counselchat.com", "https://", "www.", "@"):
        assert forbidden not in dumped
    unscrubbed = parse_counsel_chat(_csv_bytes(CC_HEADER, _cc_rows()), scrub=False)
    assert "Jane Doe" in unscrubbed.responses[0].text


def test_counsel_chat_requires_its_columns():
    with pytest.raises(ImportFormatError, match="answerText"):
        parse_counsel_chat(_csv_bytes(["questionID", "questionTitle", "questionText"], [["1", "t", "x"]]))


# --- Counsel Chat: the real file ------------------------------------------------------------------


@pytest.fixture(scope="module")
def counsel_chat():
    if not COUNSEL_CHAT.is_file():
        pytest.skip(f"Counsel Chat data not present at {COUNSEL_CHAT} (only in the shared workplace)")
    with COUNSEL_CHAT.open("rb") as handle:
        result = parse_counsel_chat(handle)
    with COUNSEL_CHAT.open(encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    return result, raw


def test_real_counsel_chat_matches_source_counts(counsel_chat):
    """SOURCE.md: 2,129 answer rows; 815 questionIDs; 93 questionIDs with >= 5 rows.

    Keyed by questionID those numbers hold, but questionID is not a question key in this file: IDs 0-20 are
    reused by a second scrape batch for *different* questions, and 9 questions appear under two IDs with all
    their answers repeated. Keyed by question text (what the importer does) there are 824 distinct
    questions, 120 repeated answers (rejected as duplicates, each with its row) and 2,009 distinct answers;
    86 questions have >= 5 distinct answers.
    """
    result, raw = counsel_chat
    report = result.report
    assert report.rows_read == len(raw) == 2129
    assert report.facts["source_question_ids"] == 815
    assert report.facts["source_question_ids_with_5_or_more_rows"] == 93
    assert Counter(Counter(r["questionID"] for r in raw).values())  # sanity: the raw view is readable

    assert report.accepted_responses == 2129 - len(report.rejected) == 2009
    assert len(report.rejected) == 120
    assert all("duplicate response" in issue.reason and issue.row >= 1 for issue in report.rejected)
    assert len(result.questions) == report.accepted_questions == 824
    assert len(report.merged) == 9
    assert sum("is used for 2 different questions" in w.reason for w in report.warnings) == 18
    assert len(questions_with_min_responses(result, k=5)) == 86
    assert len(questions_with_min_responses(result, k=2)) == 379
    assert sum(1 for q in result.questions if "0" in q.metadata["source_question_ids"]) >= 1
    upvotes = [r.metadata["upvotes"] for r in result.responses]
    assert all(isinstance(u, int) for u in upvotes) and max(upvotes) > 0


def test_real_counsel_chat_keeps_no_therapist_names_or_urls(counsel_chat):
    result, raw = counsel_chat
    by_id = {r.external_id: r for r in result.responses}
    dumped = json.dumps(
        [r.__dict__ for r in result.responses] + [q.__dict__ for q in result.questions], ensure_ascii=False
    )
    assert "counselchat.com" not in dumped.lower()
    assert "http" not in dumped and "www." not in dumped
    for column in ("therapistInfo", "therapistURL", "questionLink"):
        assert column not in dumped
    infos = {r["therapistInfo"] for r in raw}
    assert not any(info in dumped for info in infos if len(info) > 12)
    leaks = []
    for row in raw:
        response = by_id.get(f"cc-a-{row['']}")
        if response is None:
            continue
        slug = row["therapistURL"].rstrip("/").rsplit("/", 1)[-1]
        tokens = [t for t in slug.split("-") if t.isalpha() and t != "dr"]
        if len(tokens) < 2 or len(tokens) > 4:
            continue
        first, last = tokens[0], tokens[1]
        if re.search(rf"\b{first}\W+(?:\w\.?\W+)?{last}", response.text, re.IGNORECASE):
            leaks.append((response.external_id, first, last))
        if len(last) >= 4 and re.search(rf"(?<![A-Za-z]){last.capitalize()}(?![a-z])", response.text):
            leaks.append((response.external_id, last))
    assert leaks == []
