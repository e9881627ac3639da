"""Reads for human ranking campaigns and their tasks. Annotators only see their own tasks and rankings."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from annotation.models import CandidateResponse, RankingCampaign, RankingTask
from core.roles import Role, user_roles
from criteria.models import Criterion

DONE_STATES = (RankingTask.State.SUBMITTED, RankingTask.State.SKIPPED)


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
    campaign: RankingCampaign
    total: int
    done: int
    next_task_id: int | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def annotator_progress(*, user: AbstractBaseUser) -> list[CampaignProgress]:
    """The annotator's open campaigns with their own progress and the task to resume at."""
    campaigns = (
        RankingCampaign.objects.filter(tasks__annotator=user, is_open=True)
        .annotate(
            total=Count("tasks", filter=Q(tasks__annotator=user)),
            done=Count("tasks", filter=Q(tasks__annotator=user, tasks__state__in=DONE_STATES)),
        )
        .order_by("-created_at", "-id")
        .distinct()
    )
    progress = []
    for campaign in campaigns:
        next_task = (
            RankingTask.objects.filter(campaign=campaign, annotator=user, state=RankingTask.State.PENDING)
            .order_by("id")
            .values_list("pk", flat=True)
            .first()
        )
        progress.append(CampaignProgress(campaign, campaign.total, campaign.done, next_task))
    return progress


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
