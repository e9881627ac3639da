"""Coverage and inter-rater agreement per criterion over the stored rankings of a response set.

Agreement is about raters of the *same item*: Kendall's W per question (from annotation.aggregation, the
tie-corrected concordance of that question's valid rankings), averaged over questions with at least two
raters; and Krippendorff's alpha (ordinal, the `krippendorff` package) pooled over all questions, where each
unit is one response of one question and each rater's value is the rank they gave it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np

from annotation.aggregation import aggregate_items
from annotation.models import JudgeJob, RankingCampaign, ResponseSet, SplitScope
from annotation.selectors.rankings import (
    allows_ties,
    build_evaluations,
    human_rankings,
    judge_rankings,
    response_labels_by_question,
)
from annotation.selectors.responses import rankable_questions


@dataclass(frozen=True)
class CriterionAgreement:
    criterion: str
    items: int  # rankable questions in scope
    items_ranked: int  # with at least one valid ranking
    items_multi: int  # with at least two valid rankings (agreement is defined)
    rankings: int  # valid rankings
    invalid: int
    mean_raters: float | None
    mean_kendall_w: float | None
    krippendorff_alpha: float | None

    @property
    def coverage_percent(self) -> int:
        return round(100 * self.items_ranked / self.items) if self.items else 0


def _alpha(matrix: np.ndarray) -> float | None:
    """Krippendorff's alpha (ordinal); None when undefined (fewer than two pairable values, one value)."""
    if matrix.size == 0 or (np.sum(~np.isnan(matrix), axis=0) >= 2).sum() == 0:
        return None
    try:
        value = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal"))
    except (ValueError, ZeroDivisionError):
        return None
    return None if math.isnan(value) else value


def agreement_by_criterion(
    *,
    response_set: ResponseSet,
    criteria_keys: Sequence[str],
    judge_jobs: Sequence[JudgeJob] = (),
    campaigns: Sequence[RankingCampaign] = (),
    split: str = SplitScope.ALL,
) -> list[CriterionAgreement]:
    question_ids = list(
        rankable_questions(response_set=response_set, split=split).values_list("pk", flat=True)
    )
    judge_ids = [job.pk for job in judge_jobs]
    campaign_ids = [campaign.pk for campaign in campaigns]
    rankings = [
        *judge_rankings(question_ids=question_ids, judge_job_ids=judge_ids),
        *human_rankings(question_ids=question_ids, campaign_ids=campaign_ids),
    ]
    # Questions nobody ranked add nothing to W or alpha; only their number counts (coverage).
    ranked = {ranking.question_id for ranking in rankings}
    ranked_ids = [question_id for question_id in question_ids if question_id in ranked]
    response_ids = response_labels_by_question(response_set=response_set, question_ids=ranked_ids)
    evaluations = build_evaluations(
        question_ids=ranked_ids, response_ids=response_ids, rankings=rankings, criteria_keys=criteria_keys
    )
    ties = allows_ties(campaign_ids)
    results = aggregate_items(evaluations, allow_ties=ties)
    raters = sorted({ranking.rater_key for ranking in rankings})
    rater_index = {key: index for index, key in enumerate(raters)}
    offsets, unit_count = {}, 0
    for question_id in ranked_ids:
        offsets[str(question_id)] = unit_count
        unit_count += len(response_ids[question_id])
    rows = []
    for key in criteria_keys:
        matrix = np.full((len(raters), unit_count), np.nan)
        pairs = [(e, r) for e, r in zip(evaluations, results, strict=True) if e.criterion == key]
        ws = []
        for evaluation, result in pairs:
            valid = set(result.valid_judge_ids)
            offset = offsets[evaluation.question_id]
            for rater, ranks in zip(evaluation.judge_ids, evaluation.ranks, strict=True):
                if rater in valid:
                    matrix[rater_index[rater], offset : offset + evaluation.k] = ranks
            if result.kendall_w is not None:
                ws.append(result.kendall_w)
        ranked = [result for _, result in pairs if result.n_valid > 0]
        rows.append(
            CriterionAgreement(
                criterion=key,
                items=len(question_ids),
                items_ranked=len(ranked),
                items_multi=sum(1 for result in ranked if result.n_valid >= 2),
                rankings=sum(result.n_valid for _, result in pairs),
                invalid=sum(result.n_invalid for _, result in pairs),
                mean_raters=(sum(r.n_valid for r in ranked) / len(ranked)) if ranked else None,
                mean_kendall_w=(sum(ws) / len(ws)) if ws else None,
                krippendorff_alpha=_alpha(matrix),
            )
        )
    return rows
