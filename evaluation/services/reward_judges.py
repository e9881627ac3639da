"""Reward-model judges: score comparisons on the gpu queue, then ingest the scores as verdicts.

The first execution of a reward-model evaluation writes every comparison not stored yet as an item
(question, the response shown first, the response shown second; the order drawn and recorded exactly as for
persona judges) and launches a TrainingRun of method "score" (training_worker.ml.score) whose inputs are
that items file and each criterion's reward-model artifact. When that run succeeds, training_worker's
`run_finished` signal queues the next execution (`evaluation.receivers`), which reads its
"scores" artifact: a reward difference above the evaluation's tie margin is a win for that position, within
it a tie; an item without valid scores is stored as a failure, never a tie. No second click is needed.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction

from annotation.models import Question
from core.errors import ApplicationError
from core.models import Status
from core.services import JobProgress, audit_record
from evaluation.models import Comparison, Evaluation
from evaluation.selectors.evaluations import (
    REWARD_JUDGE_KEY,
    done_keys,
    evaluation_criteria,
    evaluation_pairs,
    evaluation_question_ids,
    first_models,
    responses_by_set_and_question,
)
from evaluation.stats.winrates import to_model_outcome
from training_worker.models import RunInput, TrainingMethod, TrainingRun
from training_worker.services import training_run_create, training_run_enqueue

ITEMS_INPUT = "items"
SCORES_ARTIFACT = "scores"
SCORE_BATCH_SIZE = 32
INGEST_BATCH = 2000


class ScoreIngestError(ApplicationError):
    """The scoring run's output cannot be read; nothing was stored."""


def _item_id(question_id: int, model_a_id: int, model_b_id: int, first: str) -> str:
    return f"{question_id}:{model_a_id}:{model_b_id}:{first}"


def _pending_items(evaluation: Evaluation) -> list[dict[str, str]]:
    question_ids = evaluation_question_ids(evaluation=evaluation)
    pairs = evaluation_pairs(evaluation=evaluation)
    set_ids = {entrant.response_set_id for pair in pairs for entrant in pair}
    done = done_keys(evaluation=evaluation, question_ids=question_ids, include_failed=False)
    texts = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "text"))
    responses = responses_by_set_and_question(
        response_set_ids=set_ids, question_ids=question_ids, response_index=evaluation.response_index
    )
    items = []
    for question_id in question_ids:
        for model_a, model_b in pairs:
            pair = (model_a.pk, model_b.pk)
            for first in first_models(
                evaluation=evaluation, question_id=question_id, pair=pair, judge_key=REWARD_JUDGE_KEY
            ):
                if (question_id, *pair, REWARD_JUDGE_KEY, first) in done:
                    continue
                text_a = responses[(model_a.response_set_id, question_id)][1]
                text_b = responses[(model_b.response_set_id, question_id)][1]
                shown = (text_a, text_b) if first == "A" else (text_b, text_a)
                items.append(
                    {
                        "item_id": _item_id(question_id, *pair, first),
                        "prompt": texts[question_id],
                        "response_a": shown[0],
                        "response_b": shown[1],
                    }
                )
    return items


def evaluation_score_run_launch(*, evaluation: Evaluation) -> TrainingRun | None:
    """Create and queue a scoring run for the comparisons not stored yet (None when there are none)."""
    items = _pending_items(evaluation)
    if not items:
        return None
    payload = "".join(json.dumps(item) + "\n" for item in items).encode()
    reward_runs = list(evaluation.reward_runs.order_by("pk"))
    config: dict[str, Any] = {
        "reward_models": [
            {"criterion": run.config["criterion"], "path": f"input:rm-{run.config['criterion']}/model"}
            for run in reward_runs
        ],
        "items": f"input:{ITEMS_INPUT}",
        "batch_size": SCORE_BATCH_SIZE,
    }
    with transaction.atomic():
        run = training_run_create(
            name=f"score: {evaluation.name}"[:200],
            method=TrainingMethod.SCORE,
            config=config,
            created_by=evaluation.created_by,
            parents=reward_runs,
        )
        item_input = RunInput(run=run, name=ITEMS_INPUT, sha256=hashlib.sha256(payload).hexdigest())
        item_input.file.save(f"evaluation-{evaluation.pk}-items.jsonl", ContentFile(payload), save=False)
        item_input.save()
        for reward_run in reward_runs:
            artifact = reward_run.artifacts.get(name="model")
            model_input = RunInput(
                run=run, name=f"rm-{reward_run.config['criterion']}", sha256=artifact.sha256
            )
            model_input.file.name = artifact.file.name  # reuses the stored artifact; nothing is copied
            model_input.save()
        Evaluation.objects.filter(pk=evaluation.pk).update(score_run=run)
        evaluation.score_run = run
        audit_record(
            action="evaluation.score_run",
            actor_label="system",
            obj=evaluation,
            detail={"run": run.pk, "items": len(items)},
        )
        training_run_enqueue(run=run)
    return run


def _verdict(first: float, second: float, margin: float) -> str:
    if first - second > margin:
        return "first"
    if second - first > margin:
        return "second"
    return "tie"


def _parse_scores(row: Any, criteria: list[str]) -> dict[str, list[float]] | None:
    scores = row.get("scores") if isinstance(row, dict) else None
    if not isinstance(scores, dict):
        return None
    parsed: dict[str, list[float]] = {}
    for criterion in criteria:
        pair = scores.get(criterion)
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in pair
            )
        ):
            return None
        parsed[criterion] = [float(pair[0]), float(pair[1])]
    return parsed


def evaluation_scores_ingest(*, evaluation: Evaluation, progress: JobProgress) -> dict[str, Any]:
    """Store the succeeded scoring run's verdicts; items it did not score validly become failures."""
    run = evaluation.score_run
    artifact = run.artifacts.filter(name=SCORES_ARTIFACT).first() if run else None
    items_input = run.inputs.filter(name=ITEMS_INPUT).first() if run else None
    if artifact is None or items_input is None:
        raise ScoreIngestError(f"Scoring run #{run.pk if run else '?'} left no {SCORES_ARTIFACT!r} artifact.")
    criteria = evaluation_criteria(evaluation=evaluation)
    scores: dict[str, Any] = {}
    with artifact.file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ScoreIngestError(f"Line {number} of the scores file is not JSON ({exc}).") from exc
            if isinstance(row, dict) and isinstance(row.get("item_id"), str):
                scores[row["item_id"]] = row
    with items_input.file.open("rb") as handle:
        item_ids = [json.loads(line)["item_id"] for line in handle if line.strip()]
    pairs = {(a.pk, b.pk): (a, b) for a, b in evaluation_pairs(evaluation=evaluation)}
    question_ids = sorted({int(item_id.split(":")[0]) for item_id in item_ids})
    responses = responses_by_set_and_question(
        response_set_ids={e.response_set_id for pair in pairs.values() for e in pair},
        question_ids=question_ids,
        response_index=evaluation.response_index,
    )
    done = done_keys(evaluation=evaluation, question_ids=question_ids, include_failed=False)
    failed = {}
    for pk, q, a, b, f, judged in Comparison.objects.filter(
        evaluation=evaluation, ok=False, judge_key=REWARD_JUDGE_KEY
    ).values_list("pk", "question_id", "model_a_id", "model_b_id", "first_model", "judge_settings"):
        if judged.get("score_run") == run.pk:
            done.add((q, a, b, REWARD_JUDGE_KEY, f))  # this run's own failure: ingested already
        else:
            failed[(q, a, b, REWARD_JUDGE_KEY, f)] = pk
    settings = {
        "reward_runs": {run.config.get("criterion"): run.pk for run in evaluation.reward_runs.all()},
        "score_run": run.pk,
        "tie_margin": evaluation.tie_margin,
    }
    progress.update(done=0, total=len(item_ids))
    counts = {"ok": 0, "failed": 0, "skipped_already_done": 0}
    for start in range(0, len(item_ids), INGEST_BATCH):
        batch: list[Comparison] = []
        replaced: list[int] = []
        for item_id in item_ids[start : start + INGEST_BATCH]:
            question_id, model_a_id, model_b_id, first = item_id.split(":")
            key = (int(question_id), int(model_a_id), int(model_b_id), REWARD_JUDGE_KEY, first)
            if key in done:
                counts["skipped_already_done"] += 1
                continue
            if key in failed:
                replaced.append(failed[key])
            model_a, model_b = pairs[(key[1], key[2])]
            response_a = responses[(model_a.response_set_id, key[0])][0]
            response_b = responses[(model_b.response_set_id, key[0])][0]
            parsed = _parse_scores(scores.get(item_id), criteria)
            verdicts = (
                {c: _verdict(s[0], s[1], evaluation.tie_margin) for c, s in parsed.items()}
                if parsed
                else None
            )
            batch.append(
                Comparison(
                    evaluation=evaluation,
                    question_id=key[0],
                    model_a_id=key[1],
                    model_b_id=key[2],
                    judge_key=REWARD_JUDGE_KEY,
                    first_model=first,
                    response_first_id=response_a if first == "A" else response_b,
                    response_second_id=response_b if first == "A" else response_a,
                    ok=verdicts is not None,
                    verdicts=verdicts,
                    outcomes=(
                        {c: to_model_outcome(verdict=v, first_model=first) for c, v in verdicts.items()}
                        if verdicts
                        else None
                    ),
                    scores=parsed,
                    failure_kind="" if verdicts else "invalid_scores",
                    failure_reason="" if verdicts else "The scoring run gave no valid rewards for this item.",
                    attempts=1,
                    judge_settings=settings,
                )
            )
            counts["ok" if verdicts else "failed"] += 1
        with transaction.atomic():
            # A failure left by an earlier scoring run is replaced by this run's answer.
            Comparison.objects.filter(pk__in=replaced, ok=False).delete()
            Comparison.objects.bulk_create(batch, ignore_conflicts=True)
        progress.update(done=min(start + INGEST_BATCH, len(item_ids)))
    return {"score_run": run.pk, **counts}


def evaluation_reward_step(*, evaluation: Evaluation, progress: JobProgress) -> dict[str, Any]:
    """Launch scoring when no run is usable, report a run still scoring, or ingest a succeeded one.

    Ingesting is idempotent; once a succeeded run has nothing new to give, a further execution scores the
    comparisons still missing or failed with a new run.
    """
    run = evaluation.score_run
    if run is not None:
        run.refresh_from_db()
    if run is not None and run.status == Status.SUCCEEDED:
        summary = evaluation_scores_ingest(evaluation=evaluation, progress=progress)
        if summary["ok"] or summary["failed"]:
            return {"state": "ingested", **summary}
    elif run is not None and run.status not in (Status.FAILED, Status.CANCELLED):
        return {"state": "scoring", "score_run": run.pk}
    new_run = evaluation_score_run_launch(evaluation=evaluation)
    if new_run is not None:
        return {"state": "scoring", "score_run": new_run.pk}
    return {"state": "complete", "score_run": run.pk if run else None}
