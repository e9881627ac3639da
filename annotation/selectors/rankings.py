"""Reads for stored rankings (human and persona judge) and their aggregation (annotation.aggregation).

A *rater* is one persona within one judge job ("persona:<id>@judge-job:<id>") or one annotator within one
campaign ("annotator:<id>@campaign:<id>"). Rankings are rank vectors in the canonical response order
(CandidateResponse.index). Only valid judge answers (ok=True) and submitted human tasks are ever read here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db.models import TextField
from django.db.models.functions import Cast

from annotation.aggregation import (
    AggregateResult,
    ItemRankings,
    PairStrategy,
    PreferencePair,
    aggregate_items,
    extract_pairs,
)
from annotation.models import (
    CandidateResponse,
    HumanRanking,
    JudgeJob,
    Judgement,
    RankingCampaign,
    RankingTask,
    ResponseSet,
    SplitScope,
)
from annotation.selectors.responses import rankable_questions
from criteria.models import CriteriaSet

READ_CHUNK = 2000


@dataclass(frozen=True)
class RaterRanking:
    """One rater's rankings of one question, on every criterion they ranked."""

    rater_key: str
    rater_kind: str  # "persona" or "annotator"
    rater_id: int
    source_id: int  # judge job or campaign
    question_id: int
    ranks: dict[str, list[int]]
    extra: dict[str, Any] = field(default_factory=dict)


def rater_key(kind: str, rater_id: int, source_id: int) -> str:
    """The aggregation's id of a rater: "persona:<id>@judge-job:<id>" or "annotator:<id>@campaign:<id>"."""
    if kind == "persona":
        return f"persona:{rater_id}@judge-job:{source_id}"
    return f"annotator:{rater_id}@campaign:{source_id}"


#: A stored persona judgement as the export reads it, failures too, its ranks as JSON text:
#: (question_id, judge_job_id, persona_id, ok, failure_kind, ranks_json). Plain tuples: at study scale
#: building a named record per row cost more than reading it.
JudgementRow = tuple[int, int, int, bool, str, str | None]


def judgement_rows(*, question_ids: Sequence[int], judge_job_ids: Sequence[int]) -> Iterator[JudgementRow]:
    """Every judgement (failed ones too) of these questions by these jobs, in (question, job, persona) order.

    The ranks come as JSON text, undecoded, so that the export can parse a chunk of them at once with
    Arrow's JSON reader; :func:`decode_ranks` gives their Python values. Never those of a persona whose
    survey participant withdrew: withdrawal deletes its judgements, and this filter also leaves out any that
    a job already running at the time stored afterwards.
    """
    if not judge_job_ids or not question_ids:
        return
    rows = (
        Judgement.objects.filter(
            judge_job_id__in=judge_job_ids, question_id__in=question_ids, persona__withdrawn_at__isnull=True
        )
        .order_by("question_id", "judge_job_id", "persona_id")
        .annotate(ranks_json=Cast("ranks", TextField()))
        .values_list("question_id", "judge_job_id", "persona_id", "ok", "failure_kind", "ranks_json")
    )
    yield from rows.iterator(chunk_size=READ_CHUNK)


def decode_ranks(texts: Sequence[str | None]) -> list[Any]:
    """The stored ranks of many judgements (SQL NULL -> None), decoded by one json.loads of a JSON array
    (the same values as decoding each)."""
    return json.loads("[" + ",".join(text or "null" for text in texts) + "]")


def judge_rankings(*, question_ids: Sequence[int], judge_job_ids: Sequence[int]) -> Iterator[RaterRanking]:
    """Valid persona-judge rankings of these questions, streamed."""
    rows = (row for row in judgement_rows(question_ids=question_ids, judge_job_ids=judge_job_ids) if row[3])
    for batch in iter(lambda: list(islice(rows, READ_CHUNK)), []):
        for (question_id, judge_job_id, persona_id, *_), ranks in zip(
            batch, decode_ranks([row[5] for row in batch]), strict=True
        ):
            yield RaterRanking(
                rater_key=rater_key("persona", persona_id, judge_job_id),
                rater_kind="persona",
                rater_id=persona_id,
                source_id=judge_job_id,
                question_id=question_id,
                ranks=ranks or {},
            )


def human_rankings(*, question_ids: Sequence[int], campaign_ids: Sequence[int]) -> Iterator[RaterRanking]:
    """Submitted human rankings of these questions, one record per task, streamed."""
    if not campaign_ids or not question_ids:
        return
    rows = (
        HumanRanking.objects.filter(
            task__campaign_id__in=campaign_ids,
            task__question_id__in=question_ids,
            task__state=RankingTask.State.SUBMITTED,
        )
        .order_by("task__question_id", "task__campaign_id", "task_id", "id")
        .values_list(
            "task_id",
            "task__question_id",
            "task__campaign_id",
            "task__annotator_id",
            "task__flagged_harmful",
            "task__comment",
            "task__flag_note",
            "criterion_key",
            "ranks",
        )
    )
    current: RaterRanking | None = None
    for task_id, question_id, campaign_id, annotator_id, flagged, comment, note, key, ranks in rows.iterator(
        chunk_size=READ_CHUNK
    ):
        if current is None or current.extra["task_id"] != task_id:
            if current is not None:
                yield current
            current = RaterRanking(
                rater_key=rater_key("annotator", annotator_id, campaign_id),
                rater_kind="annotator",
                rater_id=annotator_id,
                source_id=campaign_id,
                question_id=question_id,
                ranks={},
                extra={"task_id": task_id, "flagged_harmful": flagged, "comment": comment, "flag_note": note},
            )
        current.ranks[key] = ranks
    if current is not None:
        yield current


def build_evaluations(
    *,
    question_ids: Sequence[int],
    response_ids: dict[int, Sequence[str]],
    rankings: Iterable[RaterRanking],
    criteria_keys: Sequence[str],
    question_labels: dict[int, str] | None = None,
) -> list[ItemRankings]:
    """Items (question x criterion) with their rankings, in question order, then criteria order.

    `response_ids[question]` names the responses in canonical order; `question_labels` (default: the pk)
    becomes each item's question_id.
    """
    rows: dict[tuple[int, str], tuple[list[str], list[list[int]]]] = defaultdict(lambda: ([], []))
    for ranking in rankings:
        for key in criteria_keys:
            if key in ranking.ranks:
                raters, ranks = rows[(ranking.question_id, key)]
                raters.append(ranking.rater_key)
                ranks.append(ranking.ranks[key])
    labels = question_labels or {}
    evaluations = []
    for question_id in question_ids:
        for key in criteria_keys:
            raters, ranks = rows.get((question_id, key), ([], []))
            evaluations.append(
                ItemRankings(
                    question_id=labels.get(question_id, str(question_id)),
                    criterion=key,
                    response_ids=tuple(response_ids[question_id]),
                    judge_ids=tuple(raters),
                    ranks=ranks,
                )
            )
    return evaluations


def allows_ties(campaign_ids: Sequence[int]) -> bool:
    return RankingCampaign.objects.filter(pk__in=campaign_ids, allow_ties=True).exists()


def response_labels_by_question(
    *, response_set: ResponseSet, question_ids: Sequence[int]
) -> dict[int, list[str]]:
    ids: dict[int, list[str]] = defaultdict(list)
    for question_id, pk in (
        CandidateResponse.objects.filter(response_set=response_set, question_id__in=question_ids)
        .order_by("question_id", "index")
        .values_list("question_id", "pk")
    ):
        ids[question_id].append(str(pk))
    return ids


def item_aggregates(
    *,
    response_set: ResponseSet,
    criteria_keys: Sequence[str],
    question_ids: Sequence[int],
    judge_jobs: Sequence[JudgeJob] = (),
    campaigns: Sequence[RankingCampaign] = (),
) -> list[AggregateResult]:
    """Symmetric weighted voting over the stored rankings of these questions (response ids are pks)."""
    judge_ids = [job.pk for job in judge_jobs]
    campaign_ids = [campaign.pk for campaign in campaigns]
    rankings = [
        *judge_rankings(question_ids=question_ids, judge_job_ids=judge_ids),
        *human_rankings(question_ids=question_ids, campaign_ids=campaign_ids),
    ]
    evaluations = build_evaluations(
        question_ids=question_ids,
        response_ids=response_labels_by_question(response_set=response_set, question_ids=question_ids),
        rankings=rankings,
        criteria_keys=criteria_keys,
    )
    return aggregate_items(evaluations, allow_ties=allows_ties(campaign_ids))


def preference_pairs(
    *,
    response_set: ResponseSet,
    criteria_set: CriteriaSet,
    judge_jobs: Sequence[JudgeJob] = (),
    campaigns: Sequence[RankingCampaign] = (),
    split: str = SplitScope.ALL,
    strategy: PairStrategy = "best_worst",
    min_margin: float = 0.0,
) -> list[PreferencePair]:
    """Preference pairs per question and criterion with provenance (response ids are CandidateResponse pks,
    question ids are Question pks). For exports at study scale use annotation.exports, which streams."""
    question_ids = list(
        rankable_questions(response_set=response_set, split=split).values_list("pk", flat=True)
    )
    results = item_aggregates(
        response_set=response_set,
        criteria_keys=criteria_set.criterion_keys,
        question_ids=question_ids,
        judge_jobs=judge_jobs,
        campaigns=campaigns,
    )
    return extract_pairs(results, strategy=strategy, min_margin=min_margin)


@dataclass(frozen=True)
class ItemDetail:
    """Everything recorded about one question of a response set, for the researcher's item view."""

    responses: list[CandidateResponse]
    criteria: list[str]
    tasks: list[RankingTask]
    human: dict[int, dict[str, list[int]]]  # task id -> criterion -> canonical ranks
    judgements: list[Judgement]
    aggregates: list[AggregateResult]


def item_detail(*, response_set: ResponseSet, question_id: int, criteria_keys: Sequence[str]) -> ItemDetail:
    """All rankings of one item (every campaign and judge job on the response set) and their aggregate."""
    responses = list(
        CandidateResponse.objects.filter(response_set=response_set, question_id=question_id).order_by("index")
    )
    tasks = list(
        RankingTask.objects.filter(campaign__response_set=response_set, question_id=question_id)
        .select_related("annotator", "campaign")
        .order_by("campaign_id", "id")
    )
    human: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for ranking in HumanRanking.objects.filter(task__in=tasks):
        human[ranking.task_id][ranking.criterion_key] = ranking.ranks
    judgements = list(
        Judgement.objects.filter(judge_job__response_set=response_set, question_id=question_id)
        .select_related("persona", "judge_job")
        .order_by("judge_job_id", "persona_id")
    )
    aggregates = (
        item_aggregates(
            response_set=response_set,
            criteria_keys=criteria_keys,
            question_ids=[question_id],
            judge_jobs=list(JudgeJob.objects.filter(response_set=response_set)),
            campaigns=list(RankingCampaign.objects.filter(response_set=response_set)),
        )
        if len(responses) >= 2
        else []
    )
    return ItemDetail(responses, list(criteria_keys), tasks, dict(human), judgements, aggregates)
