"""Writes for LLM persona judges: create, launch, resume and cancel judge jobs, and run one.

A judge job asks every chosen persona to rank every rankable question's responses on all criteria at once
(judges). It runs as a core Job on the default queue ("annotation.judge"). Each answer is stored
raw, valid or not (failures are recorded and never used as preferences), under a unique
(judge job, persona, question), so a resumed or redelivered job skips what is already judged. The API key
is read from settings.JUDGE_API_KEY when the job runs and is never stored or logged.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from annotation.models import (
    CandidateResponse,
    JudgeJob,
    Judgement,
    JudgePersona,
    Question,
    ResponseSet,
    SplitScope,
)
from annotation.selectors.responses import rankable_questions
from core.errors import ApplicationError
from core.models import TERMINAL_STATUSES, Job, Status
from core.services import JobOutcome, JobProgress, audit_record, job_cancel, job_create
from criteria.models import CriteriaSet
from judges.client import JudgeClient, JudgeItem, JudgeOutcome
from judges.endpoint import JudgeEndpoint
from judges.outcome import FAILED, JudgingTally
from judges.ranking import PROMPT_TEMPLATE_SHA256, PROMPT_VERSION

JUDGE_JOB_KIND = "annotation.judge"
QUESTION_CHUNK = 100

JudgeClientT = TypeVar("JudgeClientT", bound=JudgeClient)


class JudgeJobError(ApplicationError):
    """A judge job that cannot be created or launched as asked."""


def judge_endpoint_limits() -> dict[str, int]:
    """The largest concurrency and requests per minute a researcher may choose for one job (settings)."""
    return {
        "max_concurrency": settings.JUDGE_MAX_CONCURRENCY_LIMIT,
        "requests_per_minute": settings.JUDGE_REQUESTS_PER_MINUTE_LIMIT,
    }


def judge_endpoint_with_defaults(**values: Any) -> JudgeEndpoint:
    """A :class:`JudgeEndpoint` from the settings a researcher chose (keyword arguments named as its fields).

    What is left out or None takes a default: the server's settings.JUDGE_API_BASE_URL, JUDGE_MODEL,
    JUDGE_MAX_CONCURRENCY and JUDGE_REQUESTS_PER_MINUTE, else the endpoint's own. A rate of 0 requests per
    minute means no client-side limit. Raises ``ValueError`` for an invalid setting.
    """
    chosen = {name: value for name, value in values.items() if value is not None}
    requests_per_minute = chosen.pop("requests_per_minute", settings.JUDGE_REQUESTS_PER_MINUTE)
    return JudgeEndpoint(
        **{
            **chosen,
            "base_url": (chosen.get("base_url") or settings.JUDGE_API_BASE_URL).strip(),
            "model": (chosen.get("model") or settings.JUDGE_MODEL).strip(),
            "max_concurrency": chosen.get("max_concurrency") or settings.JUDGE_MAX_CONCURRENCY,
            "requests_per_minute": requests_per_minute or None,
        }
    )


def judge_job_create(
    *,
    name: str,
    response_set: ResponseSet,
    criteria_set: CriteriaSet,
    personas: Sequence[JudgePersona],
    created_by: AbstractBaseUser,
    endpoint: JudgeEndpoint,
    split: str = SplitScope.ALL,
    max_questions: int | None = None,
    shuffle_responses: bool = False,
    launch: bool = True,
) -> JudgeJob:
    """Record a judge job with its endpoint settings and prompt version and, unless `launch` is false,
    queue it. The endpoint's API key is not stored: the job reads settings.JUDGE_API_KEY when it runs."""
    personas = list(personas)
    if not personas:
        raise JudgeJobError("Choose at least one persona.")
    if split not in SplitScope.values:
        raise JudgeJobError(f"Unknown split {split!r}.")
    if not rankable_questions(response_set=response_set, split=split).exists():
        raise JudgeJobError("This response set has no question with at least two responses in that split.")
    with transaction.atomic():
        judge_job = JudgeJob.objects.create(
            name=name,
            response_set=response_set,
            criteria_set=criteria_set,
            split=split,
            max_questions=max_questions,
            **JudgeJob.endpoint_field_values(endpoint),
            shuffle_responses=shuffle_responses,
            prompt_version=PROMPT_VERSION,
            prompt_template_sha256=PROMPT_TEMPLATE_SHA256,
            created_by=created_by,
        )
        judge_job.personas.set(personas)
        audit_record(
            action="judge_job.create",
            actor=created_by,
            obj=judge_job,
            detail={
                "model": judge_job.model,
                "base_url": judge_job.base_url,
                "temperature": judge_job.temperature,
                "personas": len(personas),
                "prompt_version": PROMPT_VERSION,
            },
        )
        if launch:
            judge_job_launch(judge_job=judge_job, actor=created_by)
    return judge_job


def judge_job_launch(*, judge_job: JudgeJob, actor: AbstractBaseUser | None) -> Job:
    """Queue an execution; a job that is still queued or running is returned as is (no second one)."""
    with transaction.atomic():
        locked = JudgeJob.objects.select_for_update().get(pk=judge_job.pk)
        current = Job.objects.filter(pk=locked.job_id).first() if locked.job_id else None
        if current is not None and current.status not in TERMINAL_STATUSES:
            judge_job.job = current
            return current
        job = job_create(kind=JUDGE_JOB_KIND, params={"judge_job_id": locked.pk}, created_by=actor)
        JudgeJob.objects.filter(pk=locked.pk).update(job=job)
        audit_record(action="judge_job.launch", actor=actor, obj=locked, detail={"job": job.pk})
    judge_job.job = job
    return job


def judge_job_record_stored(*, judge_job: JudgeJob, actor: AbstractBaseUser | None) -> Job:
    """Record the judgements stored without a run (the demo's synthetic ones) as the judge job's ended job,
    so its pages show how the judging ended; a judge job that has a job keeps it."""
    with transaction.atomic():
        locked = JudgeJob.objects.select_for_update().get(pk=judge_job.pk)
        if locked.job_id is not None:
            return Job.objects.get(pk=locked.job_id)
        stored = Judgement.objects.filter(judge_job=locked)
        valid, failed = stored.filter(ok=True).count(), stored.filter(ok=False).count()
        job = judged_job_record(
            kind=JUDGE_JOB_KIND,
            params={"judge_job_id": locked.pk},
            created_by=actor,
            tally=judging_tally(valid=valid, failed=failed),
            noun="judgements",
            result={"total": valid + failed, "recorded_without_run": True, "model": locked.model},
        )
        JudgeJob.objects.filter(pk=locked.pk).update(job=job)
    judge_job.job = job
    return job


def judge_job_cancel(*, judge_job: JudgeJob, actor: AbstractBaseUser) -> bool:
    """Cancel the running execution; finished judgements stay and a later launch resumes after them."""
    judge_job.refresh_from_db(fields=["job"])
    if judge_job.job is None:
        return False
    return job_cancel(job=judge_job.job, actor=actor)


def criteria_dicts(criteria_set: CriteriaSet) -> list[dict[str, str]]:
    return [
        {
            "key": c.key,
            "name": c.name,
            "question": c.question,
            "better_when": c.better_when,
            "worse_when": c.worse_when,
        }
        for c in criteria_set.criteria.all()
    ]


def judge_job_questions(judge_job: JudgeJob) -> list[int]:
    """The question ids the job covers, in file order."""
    questions = rankable_questions(response_set=judge_job.response_set, split=judge_job.split)
    ids = list(questions.values_list("pk", flat=True))
    return ids[: judge_job.max_questions] if judge_job.max_questions else ids


def _shown_order(judge_job: JudgeJob, persona_id: int, question_id: int, canonical: list[int]) -> list[int]:
    if not judge_job.shuffle_responses:
        return list(canonical)
    order = list(canonical)
    # Seeded per item, so a retried or resumed item is shown exactly the same order.
    random.Random(f"{judge_job.pk}:{persona_id}:{question_id}").shuffle(order)
    return order


def judge_client_for(endpoint: JudgeEndpoint, *, client_class: type[JudgeClientT]) -> JudgeClientT:
    """A judge client for a recorded endpoint, with the API key from settings (never stored with a record)."""
    return client_class(replace(endpoint, api_key=settings.JUDGE_API_KEY or None))


def judgement_record(
    *,
    judge_job: JudgeJob,
    persona_id: int,
    question_id: int,
    response_order: list[int],
    canonical: list[int],
    outcome: JudgeOutcome,
) -> Judgement | None:
    """Store one outcome raw; ranks are remapped from the shown order to the canonical order.

    Returns None when the item was already judged (a redelivered job racing its earlier self).
    """
    ranks = None
    if outcome.ok and outcome.ranks is not None:
        position = {response_id: index for index, response_id in enumerate(response_order)}
        ranks = {
            criterion: [int(shown_ranks[position[response_id]]) for response_id in canonical]
            for criterion, shown_ranks in outcome.ranks.items()
        }
    try:
        with transaction.atomic():
            return Judgement.objects.create(
                judge_job=judge_job,
                persona_id=persona_id,
                question_id=question_id,
                response_order=response_order,
                ok=outcome.ok,
                ranks=ranks,
                orderings={key: list(value) for key, value in (outcome.orderings or {}).items()} or None,
                failure_kind=outcome.failure_kind or "",
                failure_reason=(outcome.failure_reason or "")[:4000],
                raw_text=outcome.raw_text or "",
                attempts=outcome.attempts,
                attempt_log=[asdict(attempt) for attempt in outcome.attempt_log],
                elapsed_s=outcome.elapsed_s,
                usage=outcome.usage,
                judge_settings=outcome.settings(),
            )
    except IntegrityError:
        return None


def _items(
    judge_job: JudgeJob,
    question_ids: list[int],
    personas: list[JudgePersona],
    done: set[tuple[int, int]],
    criteria: list[dict[str, str]],
    orders: dict[str, tuple[list[int], list[int]]],
) -> Iterator[JudgeItem]:
    """Work items not yet judged, lazily, a chunk of questions at a time (constant memory)."""
    for start in range(0, len(question_ids), QUESTION_CHUNK):
        chunk = question_ids[start : start + QUESTION_CHUNK]
        texts = dict(Question.objects.filter(pk__in=chunk).values_list("pk", "text"))
        responses: dict[int, list[tuple[int, str]]] = {}
        for question_id, pk, text in (
            CandidateResponse.objects.filter(response_set_id=judge_job.response_set_id, question_id__in=chunk)
            .order_by("question_id", "index")
            .values_list("question_id", "pk", "text")
        ):
            responses.setdefault(question_id, []).append((pk, text))
        # A participant may withdraw while the job runs: their persona is not shown again from the next
        # chunk on (its text in memory is the one read when the job started).
        withdrawn = set(
            JudgePersona.objects.filter(
                pk__in=[p.pk for p in personas], withdrawn_at__isnull=False
            ).values_list("pk", flat=True)
        )
        for question_id in chunk:
            canonical = [pk for pk, _ in responses[question_id]]
            text_of = dict(responses[question_id])
            for persona in personas:
                if persona.pk in withdrawn:
                    continue
                if (persona.pk, question_id) in done:
                    continue
                shown = _shown_order(judge_job, persona.pk, question_id, canonical)
                item_id = f"{persona.pk}:{question_id}"
                orders[item_id] = (shown, canonical)
                yield JudgeItem(
                    item_id=item_id,
                    persona_text=persona.text,
                    question=texts[question_id],
                    responses=[text_of[pk] for pk in shown],
                    criteria=criteria,
                )


def judge_job_run(*, judge_job: JudgeJob, progress: JobProgress) -> JobOutcome:
    """Judge everything not judged yet. Cancellation is noticed at the next progress update."""
    question_ids = judge_job_questions(judge_job)
    personas = list(judge_job.personas.filter(withdrawn_at__isnull=True).order_by("pk"))
    total = len(question_ids) * len(personas)
    done = set(
        Judgement.objects.filter(judge_job=judge_job, question_id__in=question_ids).values_list(
            "persona_id", "question_id"
        )
    )
    already = len(done)
    counts = {"ok": 0, "failed": 0}
    progress.update(done=already, total=total)
    orders: dict[str, tuple[list[int], list[int]]] = {}

    def on_result(item: JudgeItem, outcome: JudgeOutcome) -> None:
        persona_id, question_id = (int(part) for part in item.item_id.split(":"))
        shown, canonical = orders.pop(item.item_id)
        stored = judgement_record(
            judge_job=judge_job,
            persona_id=persona_id,
            question_id=question_id,
            response_order=shown,
            canonical=canonical,
            outcome=outcome,
        )
        if stored is not None:
            counts["ok" if outcome.ok else "failed"] += 1
        progress.advance()

    client = judge_client_for(judge_job.endpoint, client_class=JudgeClient)
    criteria = criteria_dicts(judge_job.criteria_set)
    with client:
        client.judge_many(
            _items(judge_job, question_ids, personas, done, criteria, orders), on_result=on_result
        )
    progress.update(done=progress.done)
    stored = Judgement.objects.filter(judge_job=judge_job, question_id__in=question_ids)
    return judged_job_outcome(
        tally=judging_tally(valid=stored.filter(ok=True).count(), failed=stored.filter(ok=False).count()),
        noun="judgements",
        result={
            "total": total,
            "skipped_already_judged": already,
            "judged_now": counts["ok"] + counts["failed"],
            "ok_now": counts["ok"],
            "failed_now": counts["failed"],
            "failures_by_kind": _failure_counts(judge_job),
            "model": judge_job.model,
            "prompt_version": judge_job.prompt_version,
        },
    )


def judging_tally(*, valid: int, failed: int) -> JudgingTally:
    return JudgingTally(valid=valid, failed=failed, threshold=settings.JUDGE_FAILURE_THRESHOLD)


def _outcome_fields(tally: JudgingTally, noun: str, result: dict[str, Any]) -> dict[str, Any]:
    summary = tally.summary(noun)
    return {
        "status": Status(tally.verdict),
        "result": {**result, "valid": tally.valid, "failed": tally.failed, "summary": summary},
        "error": summary if tally.verdict == FAILED else "",
    }


def judged_job_outcome(*, tally: JudgingTally, noun: str, result: dict[str, Any]) -> JobOutcome:
    """How a judging job ends: succeeded, partially succeeded or failed by its share of failed answers
    (settings.JUDGE_FAILURE_THRESHOLD), its result carrying the counts and a one-line summary (also the error
    of a failed job). The job runner records it."""
    return JobOutcome(**_outcome_fields(tally, noun, result))


def judged_job_record(
    *,
    kind: str,
    params: dict[str, Any],
    created_by: AbstractBaseUser | None,
    tally: JudgingTally,
    noun: str,
    result: dict[str, Any],
) -> Job:
    """An ended job for answers stored without calling an endpoint (the demo's synthetic judgements), so
    their pages show how the judging ended rather than "not launched"."""
    now = timezone.now()
    return Job.objects.create(
        kind=kind,
        params=params,
        created_by=created_by,
        started_at=now,
        finished_at=now,
        published_at=now,
        progress_done=tally.attempted,
        progress_total=tally.attempted,
        **_outcome_fields(tally, noun, result),
    )


def _failure_counts(judge_job: JudgeJob) -> dict[str, int]:
    rows = (
        Judgement.objects.filter(judge_job=judge_job, ok=False)
        .values("failure_kind")
        .annotate(n=Count("id"))
        .order_by("failure_kind")
    )
    return {row["failure_kind"]: row["n"] for row in rows}
