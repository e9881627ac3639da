"""Reads for dataset snapshots, and the survey's objective weight sets when that app provides them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from annotation.models import DatasetSnapshot, HumanRanking, Judgement, RankingTask, ResponseSet
from annotation.selectors.responses import rankable_questions
from core.models import AuditEvent, Job
from survey_app.selectors import objective_weight_sets
from survey_app.signals import WITHDRAW_ACTION

#: The core.Job kind of a snapshot freeze on the default queue.
SNAPSHOT_FREEZE_KIND = "annotation.snapshot_freeze"


def snapshots_list() -> QuerySet[DatasetSnapshot]:
    return DatasetSnapshot.objects.select_related("criteria_set", "response_set", "created_by").order_by(
        "-created_at", "-id"
    )


def snapshots_for_training() -> QuerySet[DatasetSnapshot]:
    """Snapshots a training run can consume, newest first.

    Each has `.archive` (tar.gz in the layout of training_worker.ml.snapshot, files at the archive root),
    `.archive_sha256`, `.content_hash`, `.criteria_set` and `.manifest`.
    """
    return DatasetSnapshot.objects.select_related("criteria_set").order_by("-created_at", "-id")


def snapshot_train_pairs(*, snapshot: DatasetSnapshot) -> dict[str, int]:
    """Training pairs per criterion of the snapshot's set, as its manifest counted them (0 when none)."""
    counts = snapshot.manifest.get("counts", {}).get("pairs", {})
    criteria = snapshot.manifest.get("criteria_set", {}).get("criteria", list(counts))
    return {key: int(counts.get(key, {}).get("train", 0)) for key in criteria}


def sources_have_rankings(
    *, response_set: ResponseSet, judge_job_ids: Sequence[int], campaign_ids: Sequence[int], split: str
) -> bool:
    """Whether these judge jobs and campaigns hold any valid ranking of the set's questions in `split`:
    without one a snapshot of them would hold no preference pair at all."""
    questions = rankable_questions(response_set=response_set, split=split).values("pk")
    judged = Judgement.objects.filter(
        judge_job_id__in=judge_job_ids,
        question_id__in=questions,
        ok=True,
        persona__withdrawn_at__isnull=True,
    )
    ranked = HumanRanking.objects.filter(
        task__campaign_id__in=campaign_ids,
        task__question_id__in=questions,
        task__state=RankingTask.State.SUBMITTED,
    )
    return judged.exists() or ranked.exists()


def snapshots_with_judgements_of(*, persona_ids: Collection[int]) -> list[int]:
    """Ids of the snapshots frozen from a judge job in which one of these personas has a valid judgement.

    Read per judge job (a snapshot names its jobs in `configuration.judge_jobs`): a snapshot whose split left
    out every question the persona judged is named too, which errs on the side of flagging.
    """
    job_ids = (
        Judgement.objects.filter(persona_id__in=persona_ids, ok=True)
        .order_by()
        .values_list("judge_job_id", flat=True)
        .distinct()
    )
    names_a_job = Q(pk__in=[])
    for job_id in job_ids:
        names_a_job |= Q(configuration__judge_jobs__contains=[job_id])
    return sorted(DatasetSnapshot.objects.filter(names_a_job).values_list("pk", flat=True))


def snapshot_withdrawals(*, snapshot: DatasetSnapshot) -> list[datetime]:
    """When participants whose data `snapshot` contains withdrew (oldest first): the withdrawals whose audit
    event lists it. Such a snapshot is immutable; the researcher freezes a new one."""
    return list(
        AuditEvent.objects.filter(action=WITHDRAW_ACTION, detail__snapshots__contains=[snapshot.pk])
        .order_by("at")
        .values_list("at", flat=True)
    )


def objective_weight_options() -> list[dict[str, Any]]:
    """The survey's objective weight sets as {"id": str, "name": str, "weights": {criterion: float}}."""
    return [
        {
            "id": str(weight_set.pk),
            "name": weight_set.name,
            "weights": {str(key): value for key, value in weight_set.weights.items()},
        }
        for weight_set in objective_weight_sets()
    ]


def freeze_jobs_recent(*, limit: int = 5) -> QuerySet[Job]:
    """The latest snapshot-freeze jobs (their result names the snapshot once they succeed)."""
    return Job.objects.filter(kind=SNAPSHOT_FREEZE_KIND).order_by("-created_at", "-id")[:limit]
