"""Reads for human ranking campaigns and their tasks. Annotators only see their own tasks and rankings."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Min, Q, QuerySet

from annotation.models import CandidateResponse, RankingCampaign, RankingTask
from core.roles import Role, user_roles
from criteria.models import Criterion


def tasks_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[RankingTask]:
    """Researchers see every task; annotators their own; anyone else none."""
    roles = user_roles(user)
    tasks = RankingTask.objects.select_related("campaign", "question")
    if Role.RESEARCHER in roles:
        return tasks.order_by("campaign_id", "id")
    if Role.ANNOTATOR in roles:
        return tasks.filter(annotator=user).order_by("campaign_id", "id")
    return tasks.none()


@dataclass(frozen=True)
class CampaignProgress:
    """One annotator's tasks in one campaign: how many, done (submitted), skipped, the task to resume at."""

    campaign: RankingCampaign
    total: int
    done: int
    skipped: int
    next_task_id: int | None

    @property
    def to_do(self) -> int:
        return self.total - self.done - self.skipped

    @property
    def percent(self) -> int:
        """How far through the campaign: done and skipped tasks."""
        return round(100 * (self.done + self.skipped) / self.total) if self.total else 100


@dataclass(frozen=True)
class AnnotatorQueue:
    """The annotator's tasks in every open campaign together, and the next one to rank."""

    to_do: int
    done: int
    skipped: int
    next_task_id: int | None


def annotator_progress(*, user: AbstractBaseUser) -> list[CampaignProgress]:
    """The annotator's open campaigns, newest first, with their own progress and the task to resume at."""
    mine = Q(tasks__annotator=user)
    campaigns = (
        RankingCampaign.objects.filter(tasks__annotator=user, is_open=True)
        .annotate(
            total=Count("tasks", filter=mine),
            done=Count("tasks", filter=mine & Q(tasks__state=RankingTask.State.SUBMITTED)),
            skipped=Count("tasks", filter=mine & Q(tasks__state=RankingTask.State.SKIPPED)),
            next_task_id=Min("tasks", filter=mine & Q(tasks__state=RankingTask.State.PENDING)),
        )
        .order_by("-created_at", "-id")
    )
    return [
        CampaignProgress(campaign, campaign.total, campaign.done, campaign.skipped, campaign.next_task_id)
        for campaign in campaigns
    ]


def annotator_queue(*, user: AbstractBaseUser) -> AnnotatorQueue:
    """Counts over the annotator's open campaigns; the next task is the first to do in the newest campaign."""
    progress = annotator_progress(user=user)
    return AnnotatorQueue(
        to_do=sum(p.to_do for p in progress),
        done=sum(p.done for p in progress),
        skipped=sum(p.skipped for p in progress),
        next_task_id=next((p.next_task_id for p in progress if p.next_task_id), None),
    )


def task_responses_shown(*, task: RankingTask) -> list[CandidateResponse]:
    """The task's responses in the order this annotator sees them."""
    by_id = CandidateResponse.objects.in_bulk([int(pk) for pk in task.response_order])
    return [by_id[int(pk)] for pk in task.response_order]


def task_criteria(*, task: RankingTask) -> list[Criterion]:
    return list(task.campaign.criteria_set.criteria.all())


def campaigns_list() -> QuerySet[RankingCampaign]:
    return (
        RankingCampaign.objects.select_related("response_set", "criteria_set")
        .annotate(
            total=Count("tasks"),
            submitted=Count("tasks", filter=Q(tasks__state=RankingTask.State.SUBMITTED)),
            skipped=Count("tasks", filter=Q(tasks__state=RankingTask.State.SKIPPED)),
            flagged=Count("tasks", filter=Q(tasks__flagged_harmful=True)),
        )
        .order_by("-created_at", "-id")
    )


def rankings_submitted_by(*, user_ids: Collection[int]) -> dict[int, int]:
    """How many ranking tasks each of these annotators has submitted (absent: none)."""
    rows = (
        RankingTask.objects.filter(annotator_id__in=user_ids, state=RankingTask.State.SUBMITTED)
        .values("annotator_id")
        .annotate(submitted=Count("pk"))
        .order_by()
    )
    return {row["annotator_id"]: row["submitted"] for row in rows}
