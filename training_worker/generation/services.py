"""Writes for generated candidate responses: launch a "generate" run on the gpu worker, ingest its output.

The gpu worker's generator (training_worker.ml.generate) reads the questions of a snapshot split, samples K
responses per question and uploads `responses.jsonl` (rows {question_id, prompt, response, index,
settings}) as the run's "responses" artifact. Ingest turns that file into the response set's candidates,
each carrying the run and the sampling settings that produced it.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.importers import text_fingerprint
from annotation.models import CandidateResponse, DatasetSnapshot, Question, ResponseSet
from core.errors import ApplicationError
from core.models import Status
from core.services import audit_record
from training_worker.models import RunInput, TrainingRun
from training_worker.services import training_run_create, training_run_enqueue

RESPONSES_ARTIFACT = "responses"
MAX_RESPONSE_CHARS = 20_000
REPORTED_REJECTIONS = 200


class GenerationError(ApplicationError):
    """A generation that cannot be launched or ingested; nothing was written."""


def response_set_generate(
    *,
    snapshot: DatasetSnapshot,
    name: str,
    policy: str,
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

    `policy` is a model directory on the gpu worker, or "input:<name>" for one of the run's inputs.
    """
    name = name.strip()
    bank = snapshot.response_set.bank
    if not name or not policy.strip():
        raise GenerationError("Give the response set a name and the policy to sample from.")
    if ResponseSet.objects.filter(bank=bank, name=name).exists():
        raise GenerationError(f"{bank.name} already has a response set named {name!r}.")
    if num_responses < 1 or max_new_tokens < 1 or batch_size < 1:
        raise GenerationError("Responses per question, max new tokens and batch size must be at least 1.")
    if temperature < 0 or (temperature == 0 and num_responses > 1):
        raise GenerationError("Temperature must be >= 0, and greedy decoding (0) gives only one response.")
    if not 0 < top_p <= 1:
        raise GenerationError("top_p must be in (0, 1].")
    if split not in ("train", "test"):
        raise GenerationError("Split must be train or test.")
    config: dict[str, Any] = {
        "policy": policy.strip(),
        "num_responses": num_responses,
        "temperature": temperature,
        "top_p": top_p,
        "max_new_tokens": max_new_tokens,
        "batch_size": batch_size,
        "seed": seed,
        "split": split,
        "max_questions": max_questions,
    }
    with transaction.atomic():
        run = training_run_create(
            name=f"generate: {name}", method="generate", config=config, created_by=created_by
        )
        TrainingRun.objects.filter(pk=run.pk).update(snapshot_hash=snapshot.content_hash)
        RunInput.objects.create(
            run=run, name="snapshot", file=snapshot.archive.name, sha256=snapshot.archive_sha256
        )
        response_set = ResponseSet.objects.create(
            bank=bank,
            name=name,
            origin=ResponseSet.Origin.GENERATED,
            source=f"model:{config['policy']}",
            state=ResponseSet.State.GENERATING,
            training_run=run,
            generation_settings={**config, "snapshot_hash": snapshot.content_hash},
            created_by=created_by,
        )
        audit_record(
            action="response_set.generate",
            actor=created_by,
            obj=response_set,
            detail={"run": run.pk, "snapshot": snapshot.content_hash, **config},
        )
        training_run_enqueue(run=run)
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


def response_set_ingest_generation(
    *, response_set: ResponseSet, actor: AbstractBaseUser | None
) -> dict[str, Any]:
    """Store the finished run's responses in the set (one transaction); returns the ingest report.

    A set that is already ready is left alone. A failed or cancelled run marks the set failed. Raises
    :class:`GenerationError` (nothing written) while the run is unfinished or its file is unusable.
    """
    with transaction.atomic():
        locked = (
            ResponseSet.objects.select_for_update(of=("self",))
            .select_related("training_run", "bank")
            .get(pk=response_set.pk)
        )
        if locked.state == ResponseSet.State.READY:
            return locked.import_report
        run = locked.training_run
        if run is None:
            raise GenerationError("This response set was not generated by a run.")
        if run.status in (Status.FAILED, Status.CANCELLED):
            locked.state = ResponseSet.State.FAILED
            locked.import_report = {"error": f"generation run {run.pk} {run.status}"}
            locked.save(update_fields=["state", "import_report"])
            return locked.import_report
        if run.status != Status.SUCCEEDED:
            raise GenerationError(f"Generation run {run.pk} is {run.status}; ingest once it has succeeded.")
        artifact = run.artifacts.filter(name=RESPONSES_ARTIFACT).first()
        if artifact is None:
            raise GenerationError(f"Run {run.pk} uploaded no {RESPONSES_ARTIFACT!r} artifact.")
        questions = {
            external_id: (pk, fingerprint)
            for external_id, pk, fingerprint in Question.objects.filter(bank=locked.bank).values_list(
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
                    raise GenerationError(
                        f"line {number} of the responses file is not JSON ({exc})."
                    ) from exc
                problem = _row_problem(row)
                question = questions.get(str(row.get("question_id"))) if problem is None else None
                if problem is None and question is None:
                    problem = f"question {row['question_id']!r} is not in {locked.bank.name}"
                if problem is None and text_fingerprint(row["prompt"]) != question[1]:
                    problem = "prompt differs from the question's text"
                if problem is not None:
                    rejected.append({"line": number, "reason": problem})
                    continue
                key = (str(row["question_id"]), row["index"])
                if key in seen:
                    raise GenerationError(f"line {number}: question {key[0]!r} has index {key[1]} twice.")
                seen.add(key)
                settings = row.get("settings") if isinstance(row.get("settings"), dict) else {}
                rows.append(
                    CandidateResponse(
                        response_set=locked,
                        question_id=question[0],
                        external_id=f"run{run.pk}:{key[0]}:{key[1]}",
                        index=key[1],
                        text=row["response"].strip(),
                        text_sha256=text_fingerprint(row["response"]),
                        origin=locked.source,
                        generation_settings={**settings, "training_run": run.pk},
                    )
                )
        if not rows:
            raise GenerationError("The run's responses file holds no usable response.")
        CandidateResponse.objects.bulk_create(rows, batch_size=1000)
        report = {
            "rows_accepted": len(rows),
            "rows_rejected": len(rejected),
            "rejected": rejected[:REPORTED_REJECTIONS],
            "questions": len({row.question_id for row in rows}),
            "run": run.pk,
        }
        locked.state = ResponseSet.State.READY
        locked.import_report = report
        locked.save(update_fields=["state", "import_report"])
        audit_record(
            action="response_set.ingest",
            actor=actor,
            actor_label=None if actor else "system",
            obj=locked,
            detail={k: v for k, v in report.items() if k != "rejected"},
        )
    return report
