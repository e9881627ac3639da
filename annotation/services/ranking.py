"""Writes for human ranking: campaigns with balanced assignment, submissions and skips.

Each task stores the order its annotator sees the responses in (drawn once at assignment), so a resumed task
looks the same. Rankings arrive in display order and are stored twice: raw as submitted, and as a rank
vector in the canonical response order (CandidateResponse.index) that aggregation uses.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from annotation.aggregation import rank_rows_valid
from annotation.models import HumanRanking, RankingCampaign, RankingTask, ResponseSet, SplitScope
from annotation.selectors.responses import rankable_questions, response_ids_by_question
from core.errors import ApplicationError, NotFoundError
from core.roles import Role, user_has_role
from core.services import audit_record
from criteria.models import CriteriaSet

MAX_TEXT = 5000


class RankingError(ApplicationError):
    """A submission or campaign that cannot be accepted; `field_errors` name the rankings at fault."""


class TaskNotYours(NotFoundError):
    """Annotators may only act on their own tasks; to anyone else the task does not exist."""


def ranking_campaign_create(
    *,
    name: str,
    response_set: ResponseSet,
    criteria_set: CriteriaSet,
    annotators: Sequence[AbstractBaseUser],
    annotators_per_item: int,
    created_by: AbstractBaseUser,
    allow_ties: bool = False,
    split: str = SplitScope.ALL,
    instructions: str = "",
    seed: int | None = None,
) -> RankingCampaign:
    """Create a campaign and assign every rankable question to `annotators_per_item` different annotators.

    Assignment balances load (each question goes to the least-loaded annotators, ties broken at random) and
    draws each task's display order independently; nobody is shown anyone else's ranking.
    """
    annotators = list({user.pk: user for user in annotators}.values())
    if annotators_per_item < 1:
        raise RankingError(
            "Each question needs at least one annotator.", {"annotators_per_item": ["Must be >= 1."]}
        )
    not_annotators = [user.get_username() for user in annotators if not user_has_role(user, Role.ANNOTATOR)]
    if not_annotators:
        raise RankingError(
            "Only annotators can be assigned.",
            {"annotators": [f"Not annotators: {', '.join(not_annotators)}."]},
        )
    if len(annotators) < annotators_per_item:
        raise RankingError(
            f"{annotators_per_item} annotators per question need at least that many annotators.",
            {"annotators": [f"Choose at least {annotators_per_item}."]},
        )
    if split not in SplitScope.values:
        raise RankingError(f"Unknown split {split!r}.", {"split": ["Unknown split."]})
    question_ids = list(
        rankable_questions(response_set=response_set, split=split).values_list("pk", flat=True)
    )
    if not question_ids:
        raise RankingError("This response set has no question with at least two responses in that split.")
    responses = response_ids_by_question(response_set=response_set, question_ids=question_ids)
    rng = random.Random(seed)
    load = {user.pk: 0 for user in annotators}
    tasks = []
    for question_id in question_ids:
        order = sorted(load, key=lambda pk: (load[pk], rng.random()))[:annotators_per_item]
        for annotator_id in order:
            load[annotator_id] += 1
            shown = list(responses[question_id])
            rng.shuffle(shown)
            tasks.append((question_id, annotator_id, shown))
    with transaction.atomic():
        campaign = RankingCampaign.objects.create(
            name=name,
            response_set=response_set,
            criteria_set=criteria_set,
            annotators_per_item=annotators_per_item,
            allow_ties=allow_ties,
            split=split,
            instructions=instructions,
            created_by=created_by,
        )
        RankingTask.objects.bulk_create(
            (
                RankingTask(
                    campaign=campaign,
                    question_id=question_id,
                    annotator_id=annotator_id,
                    response_order=shown,
                )
                for question_id, annotator_id, shown in tasks
            ),
            batch_size=1000,
        )
        audit_record(
            action="ranking_campaign.create",
            actor=created_by,
            obj=campaign,
            detail={"questions": len(question_ids), "tasks": len(tasks), "annotators": sorted(load)},
        )
    return campaign


def ranking_campaign_close(*, campaign: RankingCampaign, actor: AbstractBaseUser) -> None:
    RankingCampaign.objects.filter(pk=campaign.pk).update(is_open=False)
    audit_record(action="ranking_campaign.close", actor=actor, obj=campaign)


def _lock_own_pending(
    task: RankingTask, annotator: AbstractBaseUser, *, also: tuple[str, ...] = ()
) -> RankingTask:
    """The task, locked: the annotator's own, in an open campaign, pending (or in a state of `also`)."""
    locked = RankingTask.objects.select_for_update().select_related("campaign").get(pk=task.pk)
    if locked.annotator_id != annotator.pk:
        raise TaskNotYours("No such task.")
    if not locked.campaign.is_open:
        raise RankingError("This campaign is closed.")
    if locked.state != RankingTask.State.PENDING and locked.state not in also:
        raise RankingError(
            f"This task was already {locked.get_state_display().lower()}; its answer is final."
        )
    return locked


def _canonical_ranks(
    *,
    criterion: str,
    display_ranks: Sequence[object],
    shown: Sequence[int],
    canonical: Sequence[int],
    ties: bool,
) -> list[int]:
    k = len(shown)
    if len(display_ranks) != k or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in display_ranks
    ):
        raise RankingError(
            f"{criterion}: give {k} whole-number ranks.", {criterion: [f"Give {k} whole-number ranks."]}
        )
    row = np.asarray([display_ranks], dtype=np.int64)
    if not rank_rows_valid(row, allow_ties=ties)[0]:
        expected = (
            "a ranking from 1 to K (ties share the higher place, e.g. 1, 1, 3)"
            if ties
            else (f"each rank from 1 to {k} exactly once")
        )
        raise RankingError(f"{criterion}: not a valid ranking.", {criterion: [f"Use {expected}."]})
    position = {response_id: index for index, response_id in enumerate(shown)}
    return [int(display_ranks[position[response_id]]) for response_id in canonical]


def ranking_task_submit(
    *,
    task: RankingTask,
    annotator: AbstractBaseUser,
    rankings: Mapping[str, Sequence[object]],
    flagged_harmful: bool = False,
    flag_note: str = "",
    comment: str = "",
) -> RankingTask:
    """Record the annotator's rankings: `rankings[criterion]` = the rank (1 = best) of each response as shown.

    Every criterion of the campaign's set must be ranked; a ranking must be a permutation of 1..K (or a
    standard competition ranking when the campaign allows ties). Raises :class:`RankingError` with per-field
    messages, :class:`TaskNotYours` for someone else's task. A task is answered once.
    """
    with transaction.atomic():
        locked = _lock_own_pending(task, annotator)
        criteria = locked.campaign.criteria_set.criterion_keys
        missing = [key for key in criteria if key not in rankings]
        unknown = [key for key in rankings if key not in criteria]
        if missing or unknown:
            errors = {key: ["Rank the responses on this criterion."] for key in missing}
            errors.update({key: ["Not a criterion of this task."] for key in unknown})
            raise RankingError("Rank every criterion of this task, and only those.", errors)
        shown = [int(pk) for pk in locked.response_order]
        canonical = response_ids_by_question(
            response_set=locked.campaign.response_set, question_ids=[locked.question_id]
        )[locked.question_id]
        rows = []
        errors: dict[str, list[str]] = {}
        for key in criteria:
            try:
                ranks = _canonical_ranks(
                    criterion=key,
                    display_ranks=list(rankings[key]),
                    shown=shown,
                    canonical=canonical,
                    ties=locked.campaign.allow_ties,
                )
            except RankingError as exc:
                errors.update(exc.field_errors)
                continue
            rows.append(
                HumanRanking(
                    task=locked,
                    criterion_key=key,
                    ranks=ranks,
                    raw={"display_order": shown, "ranks": list(rankings[key])},
                )
            )
        if errors:
            raise RankingError("Some rankings are not valid.", errors)
        HumanRanking.objects.bulk_create(rows)
        locked.state = RankingTask.State.SUBMITTED
        locked.flagged_harmful = bool(flagged_harmful)
        locked.flag_note = flag_note[:MAX_TEXT]
        locked.comment = comment[:MAX_TEXT]
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["state", "flagged_harmful", "flag_note", "comment", "submitted_at"])
    return locked


def ranking_task_skip(
    *,
    task: RankingTask,
    annotator: AbstractBaseUser,
    reason: str,
    flagged_harmful: bool = False,
    flag_note: str = "",
) -> RankingTask:
    """Skip a task with a reason (required); it may also flag harmful content. Skipping a task that is
    already skipped changes nothing (a repeated request); a submitted task cannot be skipped."""
    reason = reason.strip()
    if not reason:
        raise RankingError("Say why you are skipping this question.", {"reason": ["A reason is required."]})
    with transaction.atomic():
        locked = _lock_own_pending(task, annotator, also=(RankingTask.State.SKIPPED,))
        if locked.state == RankingTask.State.SKIPPED:
            return locked
        locked.state = RankingTask.State.SKIPPED
        locked.skip_reason = reason[:MAX_TEXT]
        locked.flagged_harmful = bool(flagged_harmful)
        locked.flag_note = flag_note[:MAX_TEXT]
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["state", "skip_reason", "flagged_harmful", "flag_note", "submitted_at"])
    return locked
