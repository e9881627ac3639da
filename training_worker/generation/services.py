"""Writes for generated candidate responses: launch a "generate" run on the gpu worker, ingest its output.

The gpu worker's generator (training_worker.ml.generate) reads the questions of a snapshot split, samples K
responses per question and uploads `responses.jsonl` (rows {question_id, prompt, response, index,
settings}) as the run's "responses" artifact. When the run ends, ingest turns that file into the response
set's candidates, each carrying the run and the sampling settings that produced it (or marks the set failed
with the reason); the response set page can ingest by hand too, and both are idempotent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.importers import text_fingerprint
from annotation.models import CandidateResponse, DatasetSnapshot, Question, ResponseSet
from core.errors import ApplicationError
from core.models import Status
from core.services import audit_record
from training_worker.launch import LaunchRequest, training_run_launch
from training_worker.model_picker import ModelChoice
from training_worker.models import TrainingMethod, TrainingRun

logger = logging.getLogger(__name__)

RESPONSES_ARTIFACT = "responses"
MAX_RESPONSE_CHARS = 20_000
REPORTED_REJECTIONS = 200


class GenerationError(ApplicationError):
    """A generation that cannot be launched or ingested; nothing was written."""


class GenerationOutputError(GenerationError):
    """The run's responses file cannot be used; the set was marked failed with this reason, nothing stored."""


def response_set_generate(
    *,
    snapshot: DatasetSnapshot,
    name: str,
    model: ModelChoice,
    created_by: AbstractBaseUser,
    num_responses: int = 5,
    temperature: float = 0.8,
    top_p: float = 1.0,
    max_new_tokens: int = 256,
    batch_size: int = 8,
    seed: int = 0,
    split: str = "test",
    max_questions: int | None = None,
) -> ResponseSet:
    """Queue a generation run over the questions of `snapshot`'s split; returns the (generating) response set.

    `model` comes from the model picker: a registered base model, or a succeeded run's policy, which becomes
    the run's input and parent (so the set's provenance names the policy run). The sampling settings are
    checked by the generation config class, as the worker will; errors name the form fields.
    """
    name = name.strip()
    bank = snapshot.response_set.bank
    if not name:
        raise GenerationError(field_errors={"name": "Give the response set a name."})
    if ResponseSet.objects.filter(bank=bank, name=name).exists():
        raise GenerationError(
            field_errors={"name": f"{bank.name} already has a response set named {name!r}."}
        )
    settings: dict[str, Any] = {
        "num_responses": num_responses,
        "temperature": temperature,
        "top_p": top_p,
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "seed": seed,
        "split": split,
        "max_questions": max_questions,
    }
    request = LaunchRequest(
        name=f"generate: {name}"[:200],
        method=TrainingMethod.GENERATE,
        snapshot=snapshot,
        model=model,
        hyper=settings,
    )
    with transaction.atomic():
        run = training_run_launch(request=request, created_by=created_by)
        response_set = ResponseSet.objects.create(
            bank=bank,
            name=name,
            origin=ResponseSet.Origin.GENERATED,
            source=model.source,
            state=ResponseSet.State.GENERATING,
            training_run=run,
            generation_settings={
                **run.config,
                "model": model.value,
                "snapshot_hash": snapshot.content_hash,
            },
            created_by=created_by,
        )
        audit_record(
            action="response_set.generate",
            actor=created_by,
            obj=response_set,
            detail={"run": run.pk, "snapshot": snapshot.content_hash, "model": model.value, **settings},
        )
    return response_set


def _row_problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return "line is not a JSON object"
    missing = [key for key in ("question_id", "prompt", "response", "index") if key not in row]
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    index = row["index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 1000:
        return "index must be a whole number from 0 to 999"
    if not isinstance(row["response"], str) or not row["response"].strip():
        return "response is empty"
    if len(row["response"]) > MAX_RESPONSE_CHARS:
        return f"response has more than {MAX_RESPONSE_CHARS} characters"
    if not isinstance(row["prompt"], str):
        return "prompt is not text"
    return None


def _candidates(
    response_set: ResponseSet, run: TrainingRun
) -> tuple[list[CandidateResponse], dict[str, Any]]:
    """Read the run's responses file: the candidates to store and the ingest report.

    Raises :class:`GenerationOutputError` when the file as a whole is unusable (missing, not JSON lines,
    a (question, index) twice, no usable row); single bad rows are rejected and reported.
    """
    artifact = run.artifacts.filter(name=RESPONSES_ARTIFACT).first()
    if artifact is None:
        raise GenerationOutputError(f"Run {run.pk} uploaded no {RESPONSES_ARTIFACT!r} artifact.")
    questions = {
        external_id: (pk, fingerprint)
        for external_id, pk, fingerprint in Question.objects.filter(bank=response_set.bank).values_list(
            "external_id", "pk", "text_sha256"
        )
    }
    seen: set[tuple[str, int]] = set()
    rows: list[CandidateResponse] = []
    rejected: list[dict[str, Any]] = []
    with artifact.file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise GenerationOutputError(
                    f"line {number} of the responses file is not JSON ({exc})."
                ) from exc
            problem = _row_problem(row)
            question = questions.get(str(row.get("question_id"))) if problem is None else None
            if problem is None and question is None:
                problem = f"question {row['question_id']!r} is not in {response_set.bank.name}"
            if problem is None and text_fingerprint(row["prompt"]) != question[1]:
                problem = "prompt differs from the question's text"
            if problem is not None:
                rejected.append({"line": number, "reason": problem})
                continue
            key = (str(row["question_id"]), row["index"])
            if key in seen:
                raise GenerationOutputError(f"line {number}: question {key[0]!r} has index {key[1]} twice.")
            seen.add(key)
            settings = row.get("settings") if isinstance(row.get("settings"), dict) else {}
            rows.append(
                CandidateResponse(
                    response_set=response_set,
                    question_id=question[0],
                    external_id=f"run{run.pk}:{key[0]}:{key[1]}",
                    index=key[1],
                    text=row["response"].strip(),
                    text_sha256=text_fingerprint(row["response"]),
                    origin=response_set.source,
                    generation_settings={**settings, "training_run": run.pk},
                )
            )
    if not rows:
        raise GenerationOutputError("The run's responses file holds no usable response.")
    report = {
        "rows_accepted": len(rows),
        "rows_rejected": len(rejected),
        "rejected": rejected[:REPORTED_REJECTIONS],
        "questions": len({row.question_id for row in rows}),
        "run": run.pk,
    }
    return rows, report


def _finish(response_set: ResponseSet, *, state: str, report: dict[str, Any], actor: Any) -> dict[str, Any]:
    response_set.state = state
    response_set.import_report = report
    response_set.save(update_fields=["state", "import_report"])
    audit_record(
        action="response_set.ingest"
        if state == ResponseSet.State.READY
        else "response_set.generation_failed",
        actor=actor,
        actor_label=None if actor else "system",
        obj=response_set,
        detail={key: value for key, value in report.items() if key != "rejected"},
    )
    return report


def response_set_ingest_generation(
    *, response_set: ResponseSet, actor: AbstractBaseUser | None
) -> dict[str, Any]:
    """Fill the set from its finished generation run, all or nothing; returns the ingest report.

    Runs by itself when the run ends (the `run_finished` receiver below); the response set page offers it
    by hand too. A set that is ready or failed is left alone, so a replay never duplicates. A failed or
    cancelled run, or an unusable responses file, marks the set failed with the reason and stores no
    response; the latter also raises :class:`GenerationOutputError`. Raises :class:`GenerationError` while
    the run is unfinished (nothing written).
    """
    with transaction.atomic():
        locked = (
            ResponseSet.objects.select_for_update(of=("self",))
            .select_related("training_run", "bank")
            .get(pk=response_set.pk)
        )
        if locked.state != ResponseSet.State.GENERATING:
            return locked.import_report
        run = locked.training_run
        if run is None:
            raise GenerationError("This response set was not generated by a run.")
        if run.status in (Status.FAILED, Status.CANCELLED):
            reason = f"generation run {run.pk} {run.status}" + (f": {run.error[-500:]}" if run.error else "")
            return _finish(locked, state=ResponseSet.State.FAILED, report={"error": reason}, actor=actor)
        if run.status != Status.SUCCEEDED:
            raise GenerationError(f"Generation run {run.pk} is {run.status}; ingest once it has succeeded.")
        try:
            rows, report = _candidates(locked, run)
        except GenerationOutputError as exc:
            _finish(locked, state=ResponseSet.State.FAILED, report={"error": exc.message}, actor=actor)
            failure = exc
        else:
            CandidateResponse.objects.bulk_create(rows, batch_size=1000)
            return _finish(locked, state=ResponseSet.State.READY, report=report, actor=actor)
    raise failure  # after the commit, so the set stays marked failed


def generation_run_finished(*, run: TrainingRun, **kwargs: Any) -> None:
    """`run_finished` receiver: a generation run's response set is filled (or marked failed) as it ends."""
    response_set = ResponseSet.objects.filter(training_run=run).first()
    if response_set is None:
        return
    try:
        response_set_ingest_generation(response_set=response_set, actor=None)
    except GenerationOutputError as exc:  # the set is marked failed with this reason
        logger.warning("Generation run %s: response set %s failed: %s", run.pk, response_set.pk, exc)
