"""Reads for persona judges and judge jobs."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from annotation.models import JudgeJob, JudgePersona


def personas_list() -> QuerySet[JudgePersona]:
    return JudgePersona.objects.order_by("origin", "split", "id")


def judge_jobs_list() -> QuerySet[JudgeJob]:
    return (
        JudgeJob.objects.select_related("response_set", "criteria_set", "job")
        .annotate(
            n_ok=Count("judgements", filter=Q(judgements__ok=True), distinct=True),
            n_failed=Count("judgements", filter=Q(judgements__ok=False), distinct=True),
            n_personas=Count("personas", distinct=True),
        )
        .order_by("-created_at", "-id")
    )
