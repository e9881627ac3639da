"""Agreement statistics computed once per version of the rankings they read, and kept.

Kendall's W and Krippendorff's alpha over every ranking of a response set read all of them: at the study's
scale (148,950 persona judgements) that is seconds of CPU and hundreds of MB, too much for a page view. So a
page asks :func:`agreement_for`, which

* fingerprints the data in scope (per judge job and campaign: how many rankings, and the newest one's id;
  rankings are only ever added or deleted, never edited, so any change moves the fingerprint),
* computes small scopes at once (``settings.AGREEMENT_INLINE_MAX_RANKINGS``) and keeps them in Django's
  cache under the fingerprint,
* and otherwise starts one background job per (scope, fingerprint): the job's idempotency key is the
  fingerprint, so every page view of the same data finds the same job, and its result is the cache. While
  it runs, the page shows the last result computed for the same scope, marked as stale.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, Max

from annotation.models import HumanRanking, JudgeJob, Judgement, RankingCampaign, ResponseSet
from annotation.selectors.agreement import CriterionAgreement, agreement_by_criterion
from core.models import TERMINAL_STATUSES, Job, Status
from core.services import JobProgress, job_create
from criteria.models import CriteriaSet

AGREEMENT_JOB_KIND = "annotation.agreement"


@dataclass(frozen=True)
class AgreementScope:
    """Which rankings an agreement table reads: a response set's, by these raters, in this split."""

    response_set_id: int
    criteria_set_id: int
    judge_job_ids: tuple[int, ...]
    campaign_ids: tuple[int, ...]
    split: str

    @classmethod
    def of(
        cls,
        *,
        response_set: ResponseSet,
        criteria_set: CriteriaSet,
        judge_job_ids: Sequence[int] = (),
        campaign_ids: Sequence[int] = (),
        split: str,
    ) -> AgreementScope:
        return cls(
            response_set_id=response_set.pk,
            criteria_set_id=criteria_set.pk,
            judge_job_ids=tuple(sorted(judge_job_ids)),
            campaign_ids=tuple(sorted(campaign_ids)),
            split=split,
        )

    @classmethod
    def of_campaign(cls, campaign: RankingCampaign) -> AgreementScope:
        """A human ranking campaign's own rankings, on its criteria set and split."""
        return cls.of(
            response_set=campaign.response_set,
            criteria_set=campaign.criteria_set,
            campaign_ids=[campaign.pk],
            split=campaign.split,
        )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> AgreementScope:
        return cls(
            **{
                **params,
                "judge_job_ids": tuple(params["judge_job_ids"]),
                "campaign_ids": tuple(params["campaign_ids"]),
            }
        )

    def params(self) -> dict[str, Any]:
        """JSON form (as stored in the job's params)."""
        return {
            **dataclasses.asdict(self),
            "judge_job_ids": list(self.judge_job_ids),
            "campaign_ids": list(self.campaign_ids),
        }


@dataclass(frozen=True)
class AgreementReport:
    """What a page shows: rows (possibly from an earlier version of the data) and how they stand."""

    rows: list[CriterionAgreement]
    state: str  # "ready", "computing" or "failed"
    rankings: int  # rankings in scope now
    job: Job | None = None
    stale: bool = False  # rows are from an earlier version of the data (a newer computation is under way)


def data_version(scope: AgreementScope) -> tuple[str, int]:
    """A fingerprint of the rankings in scope and how many there are (two grouped index scans)."""
    judged = (
        # Exactly the rankings agreement reads (judge_rankings): valid, no withdrawn participant's persona.
        Judgement.objects.filter(
            judge_job_id__in=scope.judge_job_ids, ok=True, persona__withdrawn_at__isnull=True
        )
        .values("judge_job_id")
        .annotate(n=Count("id"), last=Max("id"))
        .order_by("judge_job_id")
        .values_list("judge_job_id", "n", "last")
    )
    ranked = (
        HumanRanking.objects.filter(task__campaign_id__in=scope.campaign_ids)
        .values("task__campaign_id")
        .annotate(n=Count("id"), last=Max("id"))
        .order_by("task__campaign_id")
        .values_list("task__campaign_id", "n", "last")
    )
    parts = {
        "scope": scope.params(),
        "judge_jobs": [list(row) for row in judged] if scope.judge_job_ids else [],
        "campaigns": [list(row) for row in ranked] if scope.campaign_ids else [],
    }
    size = sum(row[1] for row in parts["judge_jobs"]) + sum(row[1] for row in parts["campaigns"])
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return digest, size


def agreement_compute(scope: AgreementScope) -> list[CriterionAgreement]:
    """The agreement table of `scope`, computed now (see annotation.selectors.agreement)."""
    response_set = ResponseSet.objects.select_related("bank").get(pk=scope.response_set_id)
    criteria_set = CriteriaSet.objects.get(pk=scope.criteria_set_id)
    return agreement_by_criterion(
        response_set=response_set,
        criteria_keys=criteria_set.criterion_keys,
        judge_jobs=list(JudgeJob.objects.filter(pk__in=scope.judge_job_ids)),
        campaigns=list(RankingCampaign.objects.filter(pk__in=scope.campaign_ids)),
        split=scope.split,
    )


def _rows(result: dict[str, Any]) -> list[CriterionAgreement]:
    return [CriterionAgreement(**row) for row in result.get("rows", [])]


def agreement_for(*, scope: AgreementScope, actor: AbstractBaseUser | None) -> AgreementReport:
    """The agreement table for a page: computed now when small, else from (or by) its background job."""
    version, size = data_version(scope)
    key = f"agreement:{version}"
    if size <= settings.AGREEMENT_INLINE_MAX_RANKINGS:
        rows = cache.get_or_set(
            key, lambda: [dataclasses.asdict(row) for row in agreement_compute(scope)], None
        )
        return AgreementReport(rows=_rows({"rows": rows}), state="ready", rankings=size)
    job = Job.objects.filter(kind=AGREEMENT_JOB_KIND, idempotency_key=key).first()
    if job is None:
        job = job_create(
            kind=AGREEMENT_JOB_KIND,
            params={"scope": scope.params(), "version": version},
            created_by=actor,
            idempotency_key=key,
        )
    if job.status == Status.SUCCEEDED:
        return AgreementReport(rows=_rows(job.result), state="ready", rankings=size, job=job)
    state = "failed" if job.status in TERMINAL_STATUSES else "computing"
    previous = (
        Job.objects.filter(kind=AGREEMENT_JOB_KIND, status=Status.SUCCEEDED, params__scope=scope.params())
        .order_by("-finished_at", "-id")
        .first()
    )
    rows = _rows(previous.result) if previous is not None else []
    return AgreementReport(rows=rows, state=state, rankings=size, job=job, stale=bool(rows))


def agreement_job_run(*, params: dict[str, Any], progress: JobProgress) -> dict[str, Any]:
    """The background job's work: compute the table and return it as the job's result (the cache)."""
    rows = agreement_compute(AgreementScope.from_params(params["scope"]))
    progress.update(done=1, total=1)
    return {"rows": [dataclasses.asdict(row) for row in rows], "version": params["version"]}
