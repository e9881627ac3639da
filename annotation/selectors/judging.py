"""Reads for persona judges and judge jobs."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from annotation.models import JudgeJob, Judgement, JudgePersona


def personas_list() -> QuerySet[JudgePersona]:
    """Every persona, withdrawn ones included (as tombstones: their text is JudgePersona.WITHDRAWN_TEXT)."""
    return JudgePersona.objects.order_by("origin", "split", "id")


def personas_available() -> QuerySet[JudgePersona]:
    """The personas a new judge job may use: all but those whose survey participant withdrew."""
    return personas_list().filter(withdrawn_at__isnull=True)


def _count_per_job(queryset: QuerySet, job_field: str) -> Coalesce:
    """COUNT(*) of `queryset`'s rows whose `job_field` is the outer judge job, 0 when there are none."""
    counted = (
        queryset.filter(**{job_field: OuterRef("pk")})
        .order_by()
        .values(job_field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def judge_jobs_list() -> QuerySet[JudgeJob]:
    """Judge jobs, newest first, with their valid and failed judgement counts and persona count.

    Each count is its own correlated sub-query over the (judge_job, ok) index, so a job with 150K judgements
    costs one index range count, not a join of its judgements with its personas.
    """
    return (
        JudgeJob.objects.select_related("response_set", "criteria_set", "job")
        .annotate(
            n_ok=_count_per_job(Judgement.objects.filter(ok=True), "judge_job"),
            n_failed=_count_per_job(Judgement.objects.filter(ok=False), "judge_job"),
            n_personas=_count_per_job(JudgeJob.personas.through.objects.all(), "judgejob"),
        )
        .order_by("-created_at", "-id")
    )
