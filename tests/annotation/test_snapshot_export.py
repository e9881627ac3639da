"""The export's bytes are pinned: a fixed dataset (explicit ids, fixed pseudonym key) always freezes to the
same content hash, so a change in how the export is produced can never silently change what it produces.

The dataset covers what the exporter treats specially: two judge jobs and a human campaign with ties, a
question with K=4 responses and one with a single response (not rankable), invalid rank vectors (wrong
length, out of range, a tie without ties allowed), a judgement without one criterion, one with no ranks,
an extra criterion key, failed judgements, skipped and pending human tasks, non-ASCII text and free text.
"""

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from annotation.exports import ExportSpec
from annotation.exports.chunk import ChunkRankings, JudgedBlock
from annotation.exports.jsonl import canonical_json
from annotation.exports.snapshot import export_snapshot_directory
from annotation.models import (
    CandidateResponse,
    HumanRanking,
    JudgeJob,
    Judgement,
    JudgePersona,
    Question,
    QuestionBank,
    RankingCampaign,
    RankingTask,
    ResponseSet,
)
from tests.preference_data import criteria_set_with

pytestmark = pytest.mark.django_db

BASE = 970_000  # explicit primary keys far above what the sequences reach in a test run
CRITERIA = ("empathy", "safety", "clarity")
QUESTIONS = [  # (external id, text, split, number of responses)
    ("p1", "I feel so alone since I moved — nobody here knows me.", "train", 5),
    ("p2", 'My exams start on Monday and I "cannot" sleep.\nWhat do I do?', "test", 5),
    ("p3", "Je me sens épuisée depuis des mois 😔", "train", 5),
    ("p4", "Since my father died nothing feels enjoyable.", "train", 5),
    ("p5", "I keep snapping at my children.", "test", 4),
    ("p6", "My partner checks my phone every night.", "train", 5),
    ("p7", "Only one answer was written for this one.", "train", 1),
]
ROTATIONS = [[1, 2, 3, 4, 5], [2, 1, 3, 5, 4], [1, 3, 2, 4, 5], [3, 1, 2, 5, 4]]


def _ranks(persona: int, question: int, k: int) -> dict:
    base = ROTATIONS[(persona + question) % len(ROTATIONS)]
    ranks = [r for r in base if r <= k] if k < 5 else base
    return {"empathy": ranks, "safety": ranks[::-1], "clarity": ranks[1:] + ranks[:1]}


# (persona, question external id) -> stored ranks replacing the rotation: the cases the exporter must survive
SPECIAL_RANKS = {
    (1, "p2"): {"empathy": [1, 2, 3, 4], "safety": [5, 4, 3, 2, 1], "clarity": [2, 1, 3, 4, 5]},
    (2, "p3"): {"empathy": [1, 2, 3, 4, 5], "safety": [1, 1, 3, 4, 5], "clarity": [1, 2, 3, 4, 5]},
    (3, "p4"): {"empathy": [0, 2, 3, 4, 9], "safety": [5, 4, 3, 2, 1], "clarity": [1, 2, 3, 4, 5]},
    (2, "p5"): {"empathy": [4, 3, 2, 1], "safety": [1, 2, 3, 4]},
    (1, "p6"): {"empathy": [2, 1, 3, 4, 5], "safety": [1, 2, 3, 4, 5], "clarity": [5, 4, 3, 2, 1], "x": [1]},
    (0, "p6"): None,
}
HUMAN = [  # (annotator, question external id, task state, stored ranks)
    (
        0,
        "p1",
        "submitted",
        {"empathy": [1, 1, 3, 4, 5], "safety": [5, 4, 3, 2, 1], "clarity": [1, 2, 2, 4, 5]},
    ),
    (
        1,
        "p1",
        "submitted",
        {"empathy": [2, 1, 3, 4, 5], "safety": [4, 5, 3, 2, 1], "clarity": [1, 2, 3, 4, 5]},
    ),
    (
        0,
        "p2",
        "submitted",
        {"empathy": [1, 2, 3, 4, 5], "safety": [1, 1, 1, 4, 5], "clarity": [3, 3, 1, 1, 5]},
    ),
    (1, "p3", "skipped", {}),
    (0, "p4", "pending", {}),
    (1, "p5", "submitted", {"empathy": [1, 2, 2, 4], "safety": [4, 3, 2, 1], "clarity": [1, 2, 3, 4]}),
]


@pytest.fixture
def pinned_dataset(settings):
    """The fixed dataset; returns (response set, criteria set, judge jobs, campaign)."""
    settings.PSEUDONYM_KEY = "pinned-export-key"
    criteria_set = criteria_set_with(CRITERIA, pk=BASE, key="pinned", version=3, name="Pinned")
    bank = QuestionBank.objects.create(
        pk=BASE,
        name="Pinned bank",
        source=QuestionBank.Source.RESPONSE_TABLE,
        import_settings={
            "split_seed": "pinned",
            "test_count": 2,
            "test_fraction": None,
            "min_chars": 1,
            "max_chars": 20_000,
        },
    )
    response_set = ResponseSet.objects.create(
        pk=BASE,
        bank=bank,
        name="Pinned responses",
        origin=ResponseSet.Origin.IMPORTED,
        source="pinned.jsonl",
        generation_settings={"temperature": 0.7, "top_p": 0.95},
    )
    questions = {}
    for position, (external_id, text, split, k) in enumerate(QUESTIONS):
        question = Question.objects.create(
            pk=BASE + 10 * position + 7,
            bank=bank,
            external_id=external_id,
            text=text,
            text_sha256=f"{position:064d}",
            split=split,
            position=position,
        )
        questions[external_id] = question
        for index in range(k):
            CandidateResponse.objects.create(
                pk=BASE + 100 * position + index,
                response_set=response_set,
                question=question,
                external_id=f"{external_id}-r{index + 1}",
                index=index,
                text=f"Réponse {index + 1} to {external_id}: “{'warm' if index % 2 else 'plain'}” reply.",
                text_sha256=f"{position}-{index}",
                origin="therapist" if index == 0 else "model",
                generation_settings={} if index == 0 else {"temperature": 0.3 * index},
            )
    personas = [
        JudgePersona.objects.create(
            pk=BASE + p,
            text=f"Persona text {p}",
            text_sha256=f"{p:064x}",
            origin=JudgePersona.Origin.IMPORTED,
            source_id=f"pinned-{p}",
            split="test" if p == 3 else "train",
        )
        for p in range(4)
    ]
    jobs = [
        JudgeJob.objects.create(
            pk=BASE + j,
            name=f"pinned judges {j}",
            response_set=response_set,
            criteria_set=criteria_set,
            base_url="http://127.0.0.1:9/v1",
            model=f"judge-model-{j}",
            temperature=0.25 * j,
            seed=7 + j,
            prompt_version="persona-rank-v1",
            prompt_template_sha256=f"{j}" * 64,
        )
        for j in range(2)
    ]
    for j, job in enumerate(jobs):
        job_personas = personas if j == 0 else personas[1:3]
        job.personas.set(job_personas)
        for persona in job_personas:
            p = persona.pk - BASE
            for q, (external_id, _, _, k) in enumerate(QUESTIONS):
                if k < 2:
                    continue
                question = questions[external_id]
                order = list(question.responses.order_by("index").values_list("pk", flat=True))
                failed = j == 1 and q == 3 and p == 2
                ranks = _ranks(p + j, q, k)
                if j == 0 and (p, external_id) in SPECIAL_RANKS:
                    ranks = SPECIAL_RANKS[(p, external_id)]
                Judgement.objects.create(
                    judge_job=job,
                    persona=persona,
                    question=question,
                    response_order=order,
                    ok=not failed,
                    ranks=None if failed else ranks,
                    failure_kind="malformed" if failed else "",
                )
    annotators = [
        get_user_model().objects.create(pk=BASE + a, username=f"pinned-annotator-{a}") for a in range(2)
    ]
    campaign = RankingCampaign.objects.create(
        pk=BASE,
        name="Pinned humans",
        response_set=response_set,
        criteria_set=criteria_set,
        annotators_per_item=2,
        allow_ties=True,
    )
    for t, (a, external_id, state, ranks) in enumerate(HUMAN):
        question = questions[external_id]
        task = RankingTask.objects.create(
            pk=BASE + t,
            campaign=campaign,
            question=question,
            annotator=annotators[a],
            response_order=list(question.responses.order_by("-index").values_list("pk", flat=True)),
            state=state,
            flagged_harmful=t == 2,
            flag_note="Ce conseil est risqué" if t == 2 else "",
            comment=f"Private note {t} about my own family" if state == "submitted" else "",
        )
        for key, values in ranks.items():
            HumanRanking.objects.create(task=task, criterion_key=key, ranks=values, raw=values)
    return response_set, criteria_set, jobs, campaign


def _spec(dataset, variant: str) -> ExportSpec:
    response_set, criteria_set, jobs, campaign = dataset
    common = {"response_set_id": response_set.pk, "criteria_set_id": criteria_set.pk}
    if variant == "judges":
        return ExportSpec(
            **common,
            judge_job_ids=(jobs[0].pk, jobs[1].pk),
            objective_weights={"empathy": 0.5, "safety": 0.25, "clarity": 0.25},
        )
    if variant == "clean":  # every judgement well formed: the export's fast path
        return ExportSpec(**common, judge_job_ids=(jobs[1].pk,), campaign_ids=(campaign.pk,))
    if variant == "mixed":
        return ExportSpec(
            **common,
            judge_job_ids=(jobs[0].pk,),
            campaign_ids=(campaign.pk,),
            pair_strategy="all_pairs",
            min_margin=2.5,
            include_free_text=True,
        )
    return ExportSpec(**common, campaign_ids=(campaign.pk,), pair_strategy="top_vs_rest", split="train")


def _export(dataset, variant: str, root: Path):
    root.mkdir()
    return export_snapshot_directory(spec=_spec(dataset, variant), root=root, name="pinned", created_at="t")


# What the fixed dataset freezes to. A change here changes every snapshot's identity: make it on purpose
# only (a format change), never as a side effect of how the export is computed.
PINNED = {
    "clean": "e3536a70dd39be87b4379f96708243e3911b8696909157b76e40de09cfd458fa",
    "humans": "7c20507863e661c76775733058434398923c1eee430e0084e2bba6fd4e315c58",
    "judges": "33327aa7737a704debb29d93c903337646407b5fac94c2d1a9e88a834d1a409f",
    "mixed": "0930037bc73b1f489799b6bc04950459c3017bb07aac3694b1d372b61c9a4ddf",
}
# The sha256 of each exported JSONL file, hashed together (manifest "files"): the records themselves.
PINNED_FILES = {
    "clean": "a0eee7a1a964ef28456d9582207ce6e705277f75ee7b5103446fd0e66e2fd02b",
    "humans": "e749bf80f70c71d14f46de1129ba633e90215c41a9f20c9ef524f46e8d759134",
    "judges": "adef567afcc21f89f1b195cb4694d0e4bcb94563324478be64833c0e50678b1a",
    "mixed": "a3c9e85633152f09d52f6dad11ca1ff6fbe9e97d08315a34e82a80379b3ca1ce",
}


@pytest.mark.parametrize("variant", sorted(PINNED))
def test_the_export_of_a_fixed_dataset_hashes_as_pinned(pinned_dataset, variant, tmp_path):
    result = _export(pinned_dataset, variant, tmp_path / "snapshot")
    files = result.manifest["files"]
    assert hashlib.sha256(canonical_json(files).encode()).hexdigest() == PINNED_FILES[variant], files
    assert result.content_hash == PINNED[variant]
    assert json.loads((tmp_path / "snapshot" / "manifest.json").read_text())["snapshot_hash"] == (
        result.content_hash
    )


@pytest.fixture
def fast_path(monkeypatch):
    """Records, per chunk, whether its judgements took the export's fast path."""
    taken = []
    parse = JudgedBlock.parse

    def spy(**kwargs):
        block = parse(**kwargs)
        taken.append(block is not None)
        return block

    monkeypatch.setattr(JudgedBlock, "parse", spy)
    return taken


# p2-p4 hold a wrong length, a tie and out-of-range values (lists of integers still: fast path); p5 misses a
# criterion and p6 has a judgement without ranks (general path).
@pytest.mark.parametrize(
    ("chunk", "paths"), [(1, [True, True, True, True, False, False]), (4, [True, False])]
)
def test_chunking_changes_nothing_in_a_judges_only_export(
    pinned_dataset, chunk, paths, fast_path, tmp_path, monkeypatch
):
    """Chunked differently, chunks whose judgements take the fast path mix with ones that do not, and the
    export does not change. (With human rankings the chunk size does show: rankings.jsonl lists a chunk's
    judgements, then its human rankings.)"""
    monkeypatch.setattr("annotation.exports.snapshot.QUESTION_CHUNK", chunk)
    assert _export(pinned_dataset, "judges", tmp_path / "snapshot").content_hash == PINNED["judges"]
    assert fast_path == paths


def test_well_formed_judgements_take_the_fast_path(pinned_dataset, fast_path, tmp_path):
    assert _export(pinned_dataset, "clean", tmp_path / "snapshot").content_hash == PINNED["clean"]
    assert fast_path == [True]


@pytest.mark.parametrize("variant", sorted(PINNED))
def test_parquet_copies_hold_the_jsonl_records(pinned_dataset, variant, tmp_path):
    root = tmp_path / "snapshot"
    result = _export(pinned_dataset, variant, root)
    for key in CRITERIA:
        records = [
            json.loads(line) for line in (root / "preferences" / f"{key}.jsonl").read_text().splitlines()
        ]
        for split in ("train", "test"):
            table = pq.read_table(root / "parquet" / key / f"{split}.parquet")
            expected = [record for record in records if record["split"] == split]
            assert table.to_pylist() == expected
            assert result.manifest["counts"]["pairs"][key][split] == len(expected)
    rankings = [json.loads(line) for line in (root / "rankings.jsonl").read_text().splitlines()]
    expected_rows = [  # one row per ranked criterion, in the criteria set's order
        {
            "rater_id": ranking["rater_id"],
            "rater_kind": ranking["rater_kind"],
            "source": ranking["source"],
            "question_id": ranking["question_id"],
            "split": ranking["split"],
            "criterion": key,
            "response_ids": ranking["response_ids"],
            "ranks": ranking["rankings"][key],
        }
        for ranking in rankings
        for key in CRITERIA
        if key in ranking["rankings"]
    ]
    assert pq.read_table(root / "parquet" / "rankings.parquet").to_pylist() == expected_rows


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ('{"a": [1, 2, 3], "b": [3, 2, 1], "extra": "ignored"}', True),
        ('{"a": [1, 2], "b": [0, 99]}', True),  # wrong length, out of range: still lists of integers
        ('{"a": [1.0, 2, 3], "b": [3, 2, 1]}', False),  # a float would be invalid, never coerced to 1
        ('{"a": [true, 2, 3], "b": [3, 2, 1]}', False),
        ('{"a": ["1", 2, 3], "b": [3, 2, 1]}', False),
        ('{"a": [100000000000000000000, 2, 3], "b": [3, 2, 1]}', False),  # beyond int64
        ('{"a": [null, 2, 3], "b": [3, 2, 1]}', False),
        ('{"a": null, "b": [3, 2, 1]}', False),
        ('{"b": [3, 2, 1]}', False),  # a criterion not ranked
        ('{"a": [[1], 2, 3], "b": [3, 2, 1]}', False),
        ("[1, 2, 3]", False),
        ("{}", False),
    ],
)
def test_only_judgements_ranking_every_criterion_with_integers_take_the_fast_path(text, fast):
    """The general path decodes to Python and applies the row-by-row rules; the fast path must only see
    what it handles identically. (Arrow's JSON reader, with an explicit schema, refuses the rest.)"""
    well_formed = '{"a": [3, 1, 2], "b": [1, 2, 3]}'
    block = JudgedBlock.parse(
        rater=np.zeros(2, dtype=np.int64),
        question=np.zeros(2, dtype=np.int64),
        texts=[well_formed, text],
        criteria=["a", "b"],
    )
    assert (block is not None) == fast
    if fast:
        assert block.ranks["a"].to_pylist() == [[3, 1, 2], json.loads(text)["a"]]


def test_a_failed_export_ends_its_background_writes_and_its_cursor(pinned_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr("annotation.exports.snapshot.QUESTION_CHUNK", 1)
    aggregate = ChunkRankings.aggregate
    chunks = []

    def fails_on_the_third_chunk(self, **options):
        chunks.append(self)
        if len(chunks) == 3:
            raise RuntimeError("the database went away")
        return aggregate(self, **options)

    monkeypatch.setattr(ChunkRankings, "aggregate", fails_on_the_third_chunk)
    with pytest.raises(RuntimeError, match="went away") as failure:
        _export(pinned_dataset, "judges", tmp_path / "snapshot")
    # The traceback keeps the export's objects alive: its thread and its database cursor must have ended all
    # the same (a cursor left to the garbage collector is closed later, inside some other transaction).
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("snapshot-parquet")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_cursors WHERE name LIKE '_django_curs%'")
        assert cursor.fetchall() == []
    assert failure.traceback
