"""Writes for head-to-head evaluations: create, launch (resume), cancel, run, record, compute statistics.

An evaluation runs as a core Job on the default queue (``evaluation.run``). Persona judges are called
through :class:`~judges.pairwise.PairwiseJudgeClient` (bounded concurrency, retries); each
answer, valid or not, is stored as one :class:`Comparison` under a unique (question, model pair, judge,
order), so a relaunch skips what is done. Reward-model judges score on the gpu queue
(:mod:`evaluation.services.reward_judges`). Statistics are recomputed at the end of each run and
stored on the evaluation, so pages and downloads read them without recomputing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotation.models import JudgePersona, Question, ResponseSet, Split, SplitScope
from annotation.services.judging import (
    criteria_dicts,
    judge_client_for,
    judged_job_outcome,
    judged_job_record,
    judging_tally,
)
from core.errors import ApplicationError
from core.models import TERMINAL_STATUSES, Job, Status
from core.services import JobOutcome, JobProgress, audit_record, job_cancel, job_create
from criteria.models import CriteriaSet
from evaluation.models import Comparison, Entrant, Evaluation, JudgeKind, VoteRule
from evaluation.selectors.evaluations import (
    done_keys,
    evaluation_counts,
    evaluation_criteria,
    evaluation_entrants,
    evaluation_pairs,
    evaluation_question_ids,
    evaluation_work_total,
    first_models,
    pair_head_to_heads,
    persona_judge_key,
    responses_by_set_and_question,
    shared_questions,
)
from evaluation.stats.winrates import WinRateResult, empathy_safety_front, to_model_outcome, win_rate_matrix
from judges.client import JudgeItem
from judges.endpoint import JudgeEndpoint
from judges.pairwise import (
    PROMPT_TEMPLATE_SHA256,
    PROMPT_VERSION,
    PairwiseJudgeClient,
    PairwiseOutcome,
)
from training_worker.models import TrainingMethod, TrainingRun

EVALUATION_JOB_KIND = "evaluation.run"
QUESTION_CHUNK = 50
MAX_MODELS = 20
RESULTS_FORMAT = "evaluation-results-v1"


class EvaluationError(ApplicationError):
    """An evaluation that cannot be created or launched as asked; ``field_errors`` name the inputs."""


def _check_models(
    response_sets: Sequence[ResponseSet], labels: Sequence[str] | None, errors: dict[str, str]
) -> list[str]:
    if len(response_sets) < 2:
        errors["response_sets"] = "Choose at least two response sets (one per model)."
    elif len(response_sets) > MAX_MODELS:
        errors["response_sets"] = f"At most {MAX_MODELS} models per evaluation."
    elif len({rs.pk for rs in response_sets}) != len(response_sets):
        errors["response_sets"] = "Each response set may appear once."
    elif len({rs.bank_id for rs in response_sets}) != 1:
        errors["response_sets"] = "The response sets must answer the same question bank."
    elif any(rs.state != ResponseSet.State.READY for rs in response_sets):
        errors["response_sets"] = "Every response set must be ready (generation finished and ingested)."
    names = [label.strip() for label in labels] if labels else [rs.name for rs in response_sets]
    if labels is not None and len(labels) != len(response_sets):
        errors["labels"] = "Give one label per response set, or none."
    elif any(not name or len(name) > 120 for name in names) or len(set(names)) != len(names):
        errors["labels"] = "Labels must be unique, non-empty and at most 120 characters."
    return names


def _check_judges(
    *,
    judge_kind: str,
    personas: Sequence[JudgePersona],
    reward_runs: Sequence[TrainingRun],
    criteria_set: CriteriaSet,
    endpoint: JudgeEndpoint | None,
    errors: dict[str, str],
) -> None:
    if judge_kind == JudgeKind.PERSONA:
        if not personas:
            errors["personas"] = "Choose at least one test persona."
        elif any(persona.split != Split.TEST for persona in personas):
            errors["personas"] = "Only test-split personas may judge an evaluation."
        if endpoint is None:
            errors["base_url"] = "Persona judges need a judge endpoint."
        return
    if judge_kind != JudgeKind.REWARD_MODEL:
        errors["judge_kind"] = f"Unknown judge kind {judge_kind!r}."
        return
    keys = set(criteria_set.criterion_keys)
    seen: set[str] = set()
    for run in reward_runs:
        criterion = run.config.get("criterion")
        if run.method != TrainingMethod.REWARD or run.status != Status.SUCCEEDED:
            errors["reward_runs"] = f"Run #{run.pk} is not a succeeded reward-model run."
        elif not run.artifacts.filter(name="model").exists():
            errors["reward_runs"] = f"Run #{run.pk} left no reward-model artifact."
        elif criterion not in keys:
            errors["reward_runs"] = f"Run #{run.pk} scores {criterion!r}, which is not in {criteria_set.key}."
        elif criterion in seen:
            errors["reward_runs"] = f"Two reward models score {criterion!r}."
        seen.add(criterion)
    if not reward_runs:
        errors["reward_runs"] = "Choose at least one reward model (one per criterion)."


def evaluation_create(
    *,
    name: str,
    criteria_set: CriteriaSet,
    response_sets: Sequence[ResponseSet],
    judge_kind: str,
    created_by: AbstractBaseUser,
    labels: Sequence[str] | None = None,
    personas: Sequence[JudgePersona] = (),
    reward_runs: Sequence[TrainingRun] = (),
    split: str = SplitScope.TEST,
    max_questions: int | None = None,
    response_index: int = 0,
    both_orders: bool = False,
    vote_rule: str = VoteRule.PLURALITY,
    order_seed: int = 0,
    endpoint: JudgeEndpoint | None = None,
    tie_margin: float = 0.0,
    launch: bool = True,
) -> Evaluation:
    """Validate and record an evaluation (models in the given order) and, unless `launch` is false, queue it.

    Persona judges need `endpoint` (its API key is not stored: runs read settings.JUDGE_API_KEY); reward-model
    judges ignore it. Raises :class:`EvaluationError` with every problem found; nothing is written then.
    """
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "Give the evaluation a name."
    response_sets = list(response_sets)
    names = _check_models(response_sets, labels, errors)
    _check_judges(
        judge_kind=judge_kind,
        personas=list(personas),
        reward_runs=list(reward_runs),
        criteria_set=criteria_set,
        endpoint=endpoint,
        errors=errors,
    )
    if split not in SplitScope.values:
        errors["split"] = f"Unknown split {split!r}."
    if vote_rule not in VoteRule.values:
        errors["vote_rule"] = f"Unknown vote rule {vote_rule!r}."
    if not (math.isfinite(tie_margin) and tie_margin >= 0):
        errors["tie_margin"] = "The tie margin must be a non-negative number."
    if (
        not errors
        and not shared_questions(
            response_sets=response_sets, split=split, response_index=response_index
        ).exists()
    ):
        errors["response_sets"] = (
            f"No question in that split has a response at index {response_index} in every chosen set."
        )
    if errors:
        raise EvaluationError(field_errors=errors)
    persona_judges: dict[str, Any] = {}
    if judge_kind == JudgeKind.PERSONA and endpoint is not None:
        persona_judges = {
            **Evaluation.endpoint_field_values(endpoint),
            "prompt_version": PROMPT_VERSION,
            "prompt_template_sha256": PROMPT_TEMPLATE_SHA256,
        }
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            name=name,
            criteria_set=criteria_set,
            judge_kind=judge_kind,
            split=split,
            max_questions=max_questions,
            response_index=response_index,
            both_orders=both_orders,
            vote_rule=vote_rule,
            order_seed=order_seed,
            **persona_judges,
            tie_margin=tie_margin,
            created_by=created_by,
        )
        Entrant.objects.bulk_create(
            Entrant(evaluation=evaluation, response_set=rs, label=label, position=index)
            for index, (rs, label) in enumerate(zip(response_sets, names, strict=True))
        )
        if judge_kind == JudgeKind.PERSONA:
            evaluation.personas.set(personas)
        else:
            evaluation.reward_runs.set(reward_runs)
        audit_record(
            action="evaluation.create",
            actor=created_by,
            obj=evaluation,
            detail={
                "judge_kind": judge_kind,
                "response_sets": [rs.pk for rs in response_sets],
                "personas": len(personas),
                "reward_runs": [run.pk for run in reward_runs],
                "model": evaluation.model,
                "both_orders": both_orders,
            },
        )
        if launch:
            evaluation_launch(evaluation=evaluation, actor=created_by)
    return evaluation


def evaluation_launch(
    *,
    evaluation: Evaluation,
    actor: AbstractBaseUser | None,
    retry_failed: bool = False,
    idempotency_key: str | None = None,
) -> Job:
    """Queue an execution (resumes after finished comparisons); a queued or running one is returned as is.

    With `retry_failed`, comparisons that failed before are attempted again (the new answer replaces the
    failure record). For reward-model judges an execution ingests the scoring run once it has succeeded;
    that one is queued by itself when the run succeeds, under an `idempotency_key` naming the run, so it is
    queued once, even while an earlier execution is still finishing.
    """
    with transaction.atomic():
        locked = (
            Evaluation.objects.select_for_update(of=("self",)).select_related("job").get(pk=evaluation.pk)
        )
        if idempotency_key is not None:
            queued = Job.objects.filter(kind=EVALUATION_JOB_KIND, idempotency_key=idempotency_key).first()
            if queued is not None:
                return queued
        elif locked.job is not None and locked.job.status not in TERMINAL_STATUSES:
            return locked.job
        job = job_create(
            kind=EVALUATION_JOB_KIND,
            params={"evaluation_id": locked.pk, "retry_failed": retry_failed},
            created_by=actor,
            idempotency_key=idempotency_key,
        )
        Evaluation.objects.filter(pk=locked.pk).update(job=job)
        audit_record(
            action="evaluation.launch",
            actor=actor,
            obj=locked,
            detail={"job": job.pk, "retry_failed": retry_failed},
        )
    evaluation.job = job
    return job


def evaluation_record_stored(*, evaluation: Evaluation, actor: AbstractBaseUser | None) -> Job:
    """Record the comparisons stored without a run (the demo's synthetic verdicts) as the evaluation's ended
    job, with the statistics computed, so its pages show the truth; an evaluation with a job keeps it."""
    with transaction.atomic():
        locked = Evaluation.objects.select_for_update(of=("self",)).get(pk=evaluation.pk)
        if locked.job_id is not None:
            return Job.objects.get(pk=locked.job_id)
        counts = evaluation_results_compute(evaluation=locked)["counts"]
        job = judged_job_record(
            kind=EVALUATION_JOB_KIND,
            params={"evaluation_id": locked.pk, "retry_failed": False},
            created_by=actor,
            tally=judging_tally(valid=counts["ok"], failed=counts["failed"]),
            noun="comparisons",
            result={"total": counts["ok"] + counts["failed"], "recorded_without_run": True},
        )
        Evaluation.objects.filter(pk=locked.pk).update(job=job)
    evaluation.job = job
    return job


def evaluation_cancel(*, evaluation: Evaluation, actor: AbstractBaseUser) -> bool:
    """Cancel the running execution; stored comparisons stay and a relaunch resumes after them."""
    evaluation.refresh_from_db(fields=["job"])
    if evaluation.job is None:
        return False
    return job_cancel(job=evaluation.job, actor=actor)


def comparison_record(
    *,
    evaluation: Evaluation,
    question_id: int,
    model_a_id: int,
    model_b_id: int,
    judge_key: str,
    first_model: str,
    response_first_id: int,
    response_second_id: int,
    verdicts: dict[str, str] | None,
    persona_id: int | None = None,
    scores: dict[str, list[float]] | None = None,
    failure_kind: str = "",
    failure_reason: str = "",
    raw_text: str = "",
    attempts: int = 0,
    attempt_log: list[dict[str, Any]] | None = None,
    elapsed_s: float = 0.0,
    usage: dict[str, Any] | None = None,
    judge_settings: dict[str, Any] | None = None,
) -> bool:
    """Store one comparison; `verdicts` None records a failure (never a tie). Returns whether it was stored.

    A second answer for the same item replaces an earlier failure, and is dropped when a valid answer is
    already stored (a redelivered job racing its earlier self).
    """
    ok = verdicts is not None
    outcomes = (
        {key: to_model_outcome(verdict=value, first_model=first_model) for key, value in verdicts.items()}
        if verdicts is not None
        else None
    )
    key = {
        "evaluation": evaluation,
        "question_id": question_id,
        "model_a_id": model_a_id,
        "model_b_id": model_b_id,
        "judge_key": judge_key,
        "first_model": first_model,
    }
    fields = {
        "persona_id": persona_id,
        "response_first_id": response_first_id,
        "response_second_id": response_second_id,
        "ok": ok,
        "verdicts": verdicts,
        "outcomes": outcomes,
        "scores": scores,
        "failure_kind": failure_kind,
        "failure_reason": failure_reason[:4000],
        "raw_text": raw_text,
        "attempt_log": attempt_log or [],
        "elapsed_s": elapsed_s,
        "usage": usage,
        "judge_settings": judge_settings or {},
    }
    try:
        with transaction.atomic():
            Comparison.objects.create(**key, **fields, attempts=attempts)
        return True
    except IntegrityError:
        replaced = Comparison.objects.filter(**key, ok=False).update(
            **fields, attempts=F("attempts") + attempts, updated_at=timezone.now()
        )
        return replaced == 1


def _persona_items(
    *,
    evaluation: Evaluation,
    question_ids: list[int],
    personas: list[JudgePersona],
    criteria: list[dict[str, str]],
    retry_failed: bool,
    in_flight: dict[str, tuple[int, int]],
) -> Iterator[JudgeItem]:
    """Work not done yet, lazily, a chunk of questions at a time (constant memory)."""
    pairs = evaluation_pairs(evaluation=evaluation)
    set_ids = {entrant.response_set_id for pair in pairs for entrant in pair}
    for start in range(0, len(question_ids), QUESTION_CHUNK):
        chunk = question_ids[start : start + QUESTION_CHUNK]
        done = done_keys(evaluation=evaluation, question_ids=chunk, include_failed=not retry_failed)
        texts = dict(Question.objects.filter(pk__in=chunk).values_list("pk", "text"))
        responses = responses_by_set_and_question(
            response_set_ids=set_ids, question_ids=chunk, response_index=evaluation.response_index
        )
        for question_id in chunk:
            for model_a, model_b in pairs:
                response_a = responses[(model_a.response_set_id, question_id)]
                response_b = responses[(model_b.response_set_id, question_id)]
                for persona in personas:
                    judge_key = persona_judge_key(persona.pk)
                    for first in first_models(
                        evaluation=evaluation,
                        question_id=question_id,
                        pair=(model_a.pk, model_b.pk),
                        judge_key=judge_key,
                    ):
                        if (question_id, model_a.pk, model_b.pk, judge_key, first) in done:
                            continue
                        shown = (response_a, response_b) if first == "A" else (response_b, response_a)
                        item_id = f"{question_id}:{model_a.pk}:{model_b.pk}:{persona.pk}:{first}"
                        in_flight[item_id] = (shown[0][0], shown[1][0])
                        yield JudgeItem(
                            item_id=item_id,
                            persona_text=persona.text,
                            question=texts[question_id],
                            responses=[shown[0][1], shown[1][1]],
                            criteria=criteria,
                        )


def evaluation_persona_judge(
    *, evaluation: Evaluation, progress: JobProgress, retry_failed: bool = False
) -> dict[str, Any]:
    """Ask every persona about every pair on every question not judged yet (see module docstring)."""
    question_ids = evaluation_question_ids(evaluation=evaluation)
    personas = list(evaluation.personas.order_by("pk"))
    total = evaluation_work_total(evaluation=evaluation)
    stored = Comparison.objects.filter(evaluation=evaluation)
    already = (stored.filter(ok=True) if retry_failed else stored).count()
    counts = {"ok": 0, "failed": 0}
    progress.update(done=already, total=total)
    in_flight: dict[str, tuple[int, int]] = {}

    def on_result(item: JudgeItem, outcome: PairwiseOutcome) -> None:
        question_id, model_a_id, model_b_id, persona_id, first = item.item_id.split(":")
        response_first_id, response_second_id = in_flight.pop(item.item_id)
        stored_now = comparison_record(
            evaluation=evaluation,
            question_id=int(question_id),
            model_a_id=int(model_a_id),
            model_b_id=int(model_b_id),
            judge_key=persona_judge_key(int(persona_id)),
            persona_id=int(persona_id),
            first_model=first,
            response_first_id=response_first_id,
            response_second_id=response_second_id,
            verdicts=outcome.verdicts if outcome.ok else None,
            failure_kind=outcome.failure_kind or "",
            failure_reason=outcome.failure_reason or "",
            raw_text=outcome.raw_text or "",
            attempts=outcome.attempts,
            attempt_log=[asdict(attempt) for attempt in outcome.attempt_log],
            elapsed_s=outcome.elapsed_s,
            usage=outcome.usage,
            judge_settings=outcome.settings(),
        )
        if stored_now:
            counts["ok" if outcome.ok else "failed"] += 1
        progress.advance()

    client = judge_client_for(evaluation.endpoint, client_class=PairwiseJudgeClient)
    items = _persona_items(
        evaluation=evaluation,
        question_ids=question_ids,
        personas=personas,
        criteria=criteria_dicts(evaluation.criteria_set),
        retry_failed=retry_failed,
        in_flight=in_flight,
    )
    with client:
        client.judge_many(items, on_result=on_result)
    progress.update(done=progress.done)
    return {
        "total": total,
        "skipped_already_done": already,
        "judged_now": counts["ok"] + counts["failed"],
        "ok_now": counts["ok"],
        "failed_now": counts["failed"],
    }


def evaluation_run(
    *, evaluation: Evaluation, progress: JobProgress, retry_failed: bool = False
) -> dict | JobOutcome:
    """One execution: judge (or launch / ingest reward-model scoring), then recompute the statistics.

    Persona judging ends as succeeded, partially succeeded or failed by its share of failed comparisons
    (`judged_job_outcome`); the statistics count only the valid ones either way."""
    from evaluation.services.reward_judges import evaluation_reward_step

    if evaluation.judge_kind == JudgeKind.PERSONA:
        summary = evaluation_persona_judge(
            evaluation=evaluation, progress=progress, retry_failed=retry_failed
        )
    else:
        summary = evaluation_reward_step(evaluation=evaluation, progress=progress)
        if summary.get("state") == "scoring":
            return summary
    results = evaluation_results_compute(evaluation=evaluation)
    summary = {**summary, "stored": results["counts"], "pairs": len(results["pairs"])}
    if evaluation.judge_kind != JudgeKind.PERSONA:
        return summary
    counts = results["counts"]
    return judged_job_outcome(
        tally=judging_tally(valid=counts["ok"], failed=counts["failed"]),
        noun="comparisons",
        result=summary,
    )


# ---- statistics ------------------------------------------------------------------------------------


def _number(value: float | int) -> float | int | None:
    """JSON-safe number: NaN and infinities (undefined statistics) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _win_rate_dict(result: WinRateResult) -> dict[str, Any]:
    return {
        key: _number(value) if isinstance(value, float | int) else value
        for key, value in asdict(result).items()
        if key not in ("model_a", "model_b", "criterion")
    }


def evaluation_results_compute(*, evaluation: Evaluation) -> dict[str, Any]:
    """Per-pair win rates, the win-rate matrix and average win rates per criterion, and (when the criteria
    include empathy and safety) the Pareto front of Figure 2; stored on the evaluation and returned."""
    entrants = evaluation_entrants(evaluation=evaluation)
    labels = [entrant.label for entrant in entrants]
    criteria = evaluation_criteria(evaluation=evaluation)
    head_to_heads = pair_head_to_heads(evaluation=evaluation)
    pairs = []
    for (model_a, model_b), h2h in zip(evaluation_pairs(evaluation=evaluation), head_to_heads, strict=True):
        pairs.append(
            {
                "model_a": model_a.label,
                "model_b": model_b.label,
                "model_a_id": model_a.pk,
                "model_b_id": model_b.pk,
                "n_judgements": h2h.n_judgements,
                "criteria": {c: _win_rate_dict(r) for c, r in h2h.results.items()},
            }
        )
    matrices = {}
    for criterion in criteria:
        matrix = win_rate_matrix(
            results=[h2h.results[criterion] for h2h in head_to_heads if criterion in h2h.results],
            criterion=criterion,
            models=labels,
        )
        matrices[criterion] = matrix
    pareto = None
    if "empathy" in matrices and "safety" in matrices:
        front = empathy_safety_front(empathy=matrices["empathy"], safety=matrices["safety"])
        pareto = {
            "x_label": front.x_label,
            "y_label": front.y_label,
            "front": list(front.front),
            "points": [
                {
                    "model": point.model,
                    "x": _number(point.x),
                    "y": _number(point.y),
                    "on_front": point.on_front,
                    "dominated_by": list(point.dominated_by),
                }
                for point in front.points
            ],
        }
    results = {
        "format": RESULTS_FORMAT,
        "computed_at": timezone.now().isoformat(),
        "models": labels,
        "criteria": criteria,
        "vote_rule": evaluation.vote_rule,
        "n_questions": len(evaluation_question_ids(evaluation=evaluation)),
        "counts": evaluation_counts(evaluation=evaluation),
        "pairs": pairs,
        "matrices": {
            criterion: {
                "win_rate": [[_number(float(v)) for v in row] for row in matrix.win_rate],
                "wins": matrix.wins.tolist(),
                "losses": matrix.losses.tolist(),
                "ties": matrix.ties.tolist(),
                "average_win_rate": {m: _number(v) for m, v in matrix.average_win_rate.items()},
                "average_win_share": {m: _number(v) for m, v in matrix.average_win_share.items()},
            }
            for criterion, matrix in matrices.items()
        },
        "pareto": pareto,
    }
    now = timezone.now()
    Evaluation.objects.filter(pk=evaluation.pk).update(results=results, results_computed_at=now)
    evaluation.results, evaluation.results_computed_at = results, now
    return results
