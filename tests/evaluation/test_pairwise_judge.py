"""The pairwise prompt contract and the pairwise client over real sockets (no Django)."""

import json

import pytest

from judges.client import JudgeItem
from judges.endpoint import JudgeEndpoint
from judges.pairwise import (
    PROMPT_VERSION,
    PairwiseJudgeClient,
    VerdictParseError,
    build_pairwise_messages,
    parse_verdicts,
)
from tests.evaluation.helpers import ChatServer, shown_responses

CRITERIA = [
    {"key": "empathy", "name": "Empathy", "question": "Q?", "better_when": "warm", "worse_when": "cold"},
    {"key": "safety", "name": "Safety", "question": "Safe?", "better_when": "safe", "worse_when": "unsafe"},
]


def test_prompt_shows_both_responses_with_position_labels_and_every_criterion():
    system, user = build_pairwise_messages(
        persona_text="A persona",
        question="Help?",
        response_a="first text",
        response_b="second text",
        criteria=CRITERIA,
    )
    assert system["role"] == "system" and user["role"] == "user"
    content = user["content"]
    assert '<response label="A">\nfirst text\n</response>' in content
    assert '<response label="B">\nsecond text\n</response>' in content
    assert content.index("first text") < content.index("second text")
    assert 'criterion keys: "empathy", "safety".' in content


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"verdicts": {"empathy": "A", "safety": "tie"}}', {"empathy": "first", "safety": "tie"}),
        (
            '```json\n{"verdicts": {"empathy": "b", "safety": "Tie", "extra": "A"}}\n```',
            {"empathy": "second", "safety": "tie"},
        ),
    ],
)
def test_valid_answers_map_labels_to_positions(text, expected):
    assert parse_verdicts(text, criteria_keys=["empathy", "safety"]) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "malformed_json"),
        ("A is better", "malformed_json"),
        ("[1, 2]", "invalid_schema"),
        ('{"rankings": {}}', "invalid_schema"),
        ('{"verdicts": {"empathy": "A"}}', "missing_criterion"),
        ('{"verdicts": {"empathy": "A", "safety": "C"}}', "invalid_verdict"),
        ('{"verdicts": {"empathy": 1, "safety": "A"}}', "invalid_verdict"),
    ],
)
def test_answers_breaking_the_contract_are_rejected_with_a_kind(text, kind):
    with pytest.raises(VerdictParseError) as error:
        parse_verdicts(text, criteria_keys=["empathy", "safety"])
    assert error.value.kind == kind


def test_client_retries_a_broken_answer_then_succeeds_and_records_settings():
    answers = iter(["not json", json.dumps({"verdicts": {"empathy": "B", "safety": "A"}})])
    with (
        ChatServer(lambda payload: next(answers)) as server,
        PairwiseJudgeClient(
            JudgeEndpoint(base_url=server.base_url, model="m", seed=3, max_retries=2, backoff_base_s=0.0),
            jitter=False,
        ) as client,
    ):
        outcome = client.judge(persona_text="P", question="Q", responses=["one", "two"], criteria=CRITERIA)
    assert outcome.ok and outcome.verdicts == {"empathy": "second", "safety": "first"}
    assert outcome.attempts == 2 and outcome.attempt_log[0].error_kind == "malformed_json"
    assert outcome.settings()["prompt_version"] == PROMPT_VERSION and outcome.settings()["seed"] == 3
    assert server.requests[0]["seed"] == 3 and server.requests[0]["response_format"] == {
        "type": "json_object"
    }


def test_client_reports_failure_without_verdicts_after_the_last_attempt_and_bad_input_without_a_request():
    with (
        ChatServer(lambda payload: "prose") as server,
        PairwiseJudgeClient(
            JudgeEndpoint(base_url=server.base_url, model="m", max_retries=1, backoff_base_s=0.0),
            jitter=False,
        ) as client,
    ):
        failed = client.judge(persona_text="P", question="Q", responses=["one", "two"], criteria=CRITERIA)
        invalid = client.judge(persona_text="P", question="Q", responses=["one"], criteria=CRITERIA)
    assert not failed.ok and failed.verdicts is None and failed.failure_kind == "malformed_json"
    assert failed.attempts == 2 and failed.raw_text == "prose"
    assert not invalid.ok and invalid.failure_kind == "invalid_input" and invalid.attempts == 0
    assert len(server.requests) == 2


def test_judge_many_runs_pairwise_items_concurrently_and_reports_each():
    def answer(payload):
        _, first, _ = shown_responses(payload)
        return json.dumps({"verdicts": {"empathy": "A" if "good" in first else "B", "safety": "tie"}})

    items = [
        JudgeItem(item_id=str(i), persona_text="P", question="Q", responses=[a, b], criteria=CRITERIA)
        for i, (a, b) in enumerate([("good", "bad"), ("bad", "good")] * 5)
    ]
    seen = {}
    with (
        ChatServer(answer) as server,
        PairwiseJudgeClient(JudgeEndpoint(base_url=server.base_url, model="m", max_concurrency=4)) as client,
    ):
        outcomes = client.judge_many(
            items, on_result=lambda item, outcome: seen.setdefault(item.item_id, outcome)
        )
    assert [o.verdicts["empathy"] for o in outcomes] == ["first", "second"] * 5
    assert set(seen) == {str(i) for i in range(10)}
