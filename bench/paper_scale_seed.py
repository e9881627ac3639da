"""Seeds the study's scale into an empty, migrated database, for bench_paper_scale.py.

At scale 1.0: 2,979 EPITOME-like questions (600 test / 2,379 train) with 5 candidate responses each; 50 train
and 50 test personas; a finished persona judge job on the therapeutic criteria (50 personas x 2,979 questions
= 148,950 judgements, about 1% failed); a ranking campaign (3 of 5 annotators on each of ~300 questions); a
snapshot frozen through the real service (timed); training runs with progress events; three generated
response sets compared head to head by the 50 test personas on the 600 test questions (90,000 comparisons,
statistics computed by the real service); and a closed, unblinded clinician study linked to that evaluation.
Records with rules (judge job, evaluation, study, snapshot) go through the services; the big tables are
written with COPY, shaped as the real jobs write them. Every draw is seeded.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count, Model
from django.utils import timezone
from psycopg import sql

from annotation.models import (
    CandidateResponse,
    HumanRanking,
    Judgement,
    JudgePersona,
    Question,
    QuestionBank,
    RankingCampaign,
    RankingTask,
    ResponseSet,
)
from core.models import Job, Status
from core.roles import Role
from criteria.models import CriteriaSet

BANK_NAME = "EPITOME (paper scale)"
K = 5
STUDY = {"questions": 2979, "test": 600, "campaign_questions": 300, "scenarios": 100}
PERSONAS = 50
JUDGE_MODEL = "mistral-7b-instruct-v0.2"
ENDPOINT = {"base_url": "http://judge.invalid/v1", "model": JUDGE_MODEL, "seed": 0}
# Model quality on every criterion: the head-to-head verdicts favour the better model, as in the study.
QUALITY = {"Base": -0.8, "SFT": -0.3, "MODPO Survey": 0.9}
FAILURES = {
    "invalid_permutation": "empathy: [1, 2, 2, 4, 5] is not a permutation of 1..5",
    "malformed_json": "not a JSON object: Expecting ',' delimiter at char 211",
    "timeout": "no answer within 120 s (3 attempts)",
    "missing_criterion": "missing criteria: patient_autonomy",
}
SENTENCES = [
    "I have been feeling really low for the past few months and I do not know who to talk to.",
    "Every night I lie awake thinking about everything that went wrong this week.",
    "My partner says I am overreacting but the anxiety is real and it is exhausting.",
    "I moved to a new city for work and I have not made a single friend here.",
    "Some days I cannot get out of bed, and then I feel guilty for wasting the day.",
    "I used to love painting but now nothing seems worth the effort anymore.",
    "My parents keep comparing me to my brother and it makes me feel worthless.",
    "I snapped at my kids again today and I hate the person I am becoming.",
    "It sounds like you are carrying a lot right now, and it makes sense that you feel worn out.",
    "Thank you for sharing this; reaching out when you feel this way takes real courage.",
    "What would a small step towards feeling a little better look like for you this week?",
    "You mentioned painting used to bring you joy; what do you think changed for you?",
    "If you ever feel unsafe or think about harming yourself, please contact a crisis line right away.",
    "It might help to talk to a counsellor who can explore these feelings with you in more depth.",
    "You get to decide what feels right for you, and there is no single correct path here.",
]
JUDGEMENT_COLUMNS = [
    "judge_job", "persona", "question", "response_order", "ok", "ranks", "orderings", "failure_kind",
    "failure_reason", "raw_text", "attempts", "attempt_log", "elapsed_s", "usage", "judge_settings",
    "created_at",
]  # fmt: skip
COMPARISON_COLUMNS = [
    "evaluation", "question", "model_a", "model_b", "judge_key", "persona", "first_model", "response_first",
    "response_second", "ok", "verdicts", "outcomes", "failure_kind", "failure_reason", "raw_text", "attempts",
    "attempt_log", "elapsed_s", "usage", "judge_settings", "created_at", "updated_at",
]  # fmt: skip


def _text(rng: random.Random, low: int, high: int, prefix: str) -> str:
    return prefix + " " + " ".join(rng.choices(SENTENCES, k=rng.randint(low, high)))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def copy_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into the model's table (the fast path for the big tables). Fields left out get their
    model default (COPY knows only database defaults); dicts and lists are written as JSON. The rows are
    generated while the COPY holds the connection, so they must not query the database."""
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    defaults = [f for f in meta.concrete_fields if not f.primary_key and f not in fields and f.has_default()]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(sql.Identifier(f.column) for f in [*fields, *defaults]),
    )
    tail = [f.get_default() for f in defaults]
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v for v in (*row, *tail)])
            count += 1
    return count


def _users(prefix: str, role: Role, n: int) -> list:
    group = Group.objects.get_or_create(name=role.value)[0]
    users = []
    for i in range(n):
        user = get_user_model()(username=f"bench-{prefix}-{i}" if n > 1 else f"bench-{prefix}")
        user.set_unusable_password()
        user.save()
        user.groups.add(group)
        users.append(user)
    return users


def _finished_job(*, kind: str, params: dict, created_by, total: int, result: dict, minutes: float) -> Job:
    """A core Job row as a worker leaves it after a successful run (nothing is queued)."""
    now = timezone.now()
    return Job.objects.create(
        kind=kind, params=params, created_by=created_by, status=Status.SUCCEEDED, attempts=1,
        created_at=now - timedelta(minutes=minutes + 1), started_at=now - timedelta(minutes=minutes),
        finished_at=now, progress_done=total, progress_total=total, result=result,
    )  # fmt: skip


def _rank_cube(rng: np.random.Generator, n_questions: int, n_raters: int, n_criteria: int) -> np.ndarray:
    """Ranks (1 = best) of K responses per question, rater and criterion: a latent quality per response and
    criterion plus rater noise, so raters agree moderately, as real ones do."""
    quality = rng.normal(0, 1, size=(n_questions, 1, n_criteria, K))
    scores = quality + rng.normal(0, 1.2, size=(n_questions, n_raters, n_criteria, K))
    return np.argsort(np.argsort(-scores, axis=-1), axis=-1) + 1


def seed_bank(*, scale: float, rng: random.Random) -> tuple[QuestionBank, list[int], list[str]]:
    """The bank as an EPITOME import leaves it; returns it, its question ids in file order, their splits."""
    n_questions = max(10, round(STUDY["questions"] * scale))
    n_test = min(n_questions - 2, max(4, round(STUDY["test"] * scale)))
    test_positions = set(rng.sample(range(n_questions), n_test))
    splits = ["test" if i in test_positions else "train" for i in range(n_questions)]
    bank = QuestionBank.objects.create(
        name=BANK_NAME,
        source=QuestionBank.Source.EPITOME,
        import_settings={"file_name": "epitome_emotional_reactions.csv", "split_seed": "paper"},
        import_report={
            "rows_read": n_questions + 105, "rows_accepted": n_questions, "rows_rejected": 0,
            "split": {"seed": "paper", "train": n_questions - n_test, "test": n_test},
            "merged": [{"row": 40 + 29 * i, "reason": f"same post as row {29 * i + 3}"} for i in range(105)],
        },
    )  # fmt: skip
    texts = [_text(rng, 3, 9, f"[{i}]") for i in range(n_questions)]
    copy_rows(
        Question,
        ["bank", "external_id", "text", "text_sha256", "split", "position", "metadata"],
        (
            (bank.pk, f"sp{i:05d}", t, _sha(t), splits[i], i, {"rp_id": f"rp{i:05d}"})
            for i, t in enumerate(texts)
        ),
    )
    return bank, list(bank.questions.order_by("position").values_list("pk", flat=True)), splits


def seed_responses(
    *, bank, name: str, question_ids: Sequence[int], k: int, rng: random.Random, **fields: Any
):
    """A response set with `k` responses per question; returns it and {question id: response ids by index}."""
    response_set = ResponseSet.objects.create(bank=bank, name=name, **fields)
    texts = ((qid, j, _text(rng, 5, 12, f"({name} {j})")) for qid in question_ids for j in range(k))
    copy_rows(
        CandidateResponse,
        ["response_set", "question", "external_id", "index", "text", "text_sha256", "origin"],
        ((response_set.pk, qid, f"{qid}:{j}", j, t, _sha(t), fields["source"]) for qid, j, t in texts),
    )
    by_question: dict[int, list[int]] = {}
    rows = response_set.responses.order_by("question_id", "index").values_list("question_id", "pk")
    for qid, pk in rows:
        by_question.setdefault(qid, []).append(pk)
    return response_set, by_question


def seed_personas(*, rng: random.Random) -> tuple[list[JudgePersona], list[JudgePersona]]:
    """50 train personas (the judge job's) and 50 test personas (the evaluation's)."""
    texts = [
        (s, p, _text(rng, 10, 16, f"Persona {s}-{p}:")) for s in ("train", "test") for p in range(PERSONAS)
    ]
    personas = JudgePersona.objects.bulk_create(
        JudgePersona(text=t, text_sha256=_sha(t), origin="imported", source_id=f"{s}-{p:03d}", split=s)
        for s, p, t in texts
    )
    return personas[:PERSONAS], personas[PERSONAS:]


def _judgement_row(job_id, persona_id, question_id, canonical, ranks, criteria, rng, created_at) -> tuple:
    """One judgement as judgement_record stores it: the shown order, ranks in canonical order, orderings as
    answered (response numbers, best first), the raw answer, attempts and settings; ~1% failures."""
    shown = list(canonical)
    random.Random(f"{job_id}:{persona_id}:{question_id}").shuffle(shown)  # the job's seeded display order
    settings = {"model": JUDGE_MODEL, "temperature": 0.0, "seed": 0, "prompt_version": "persona-rank-v1"}
    elapsed = round(rng.uniform(2.0, 9.0), 3)
    usage = {"prompt_tokens": rng.randint(2200, 3200), "completion_tokens": rng.randint(90, 160)}
    if rng.random() < 0.01:
        kind = rng.choice(list(FAILURES))
        attempts = range(1, 4 if kind == "timeout" else 2)
        log = [
            {"attempt": a, "status_code": None, "error_kind": kind, "elapsed_s": elapsed} for a in attempts
        ]
        answer = (False, None, None, kind, FAILURES[kind], '{"rankings": {"empathy": [1, 2, 2')
    else:
        position = {pk: i + 1 for i, pk in enumerate(shown)}
        orderings = {
            key: [position[pk] for pk in sorted(canonical, key=dict(zip(canonical, row, strict=True)).get)]
            for key, row in zip(criteria, ranks, strict=True)
        }
        log = [{"attempt": 1, "status_code": 200, "error_kind": None, "elapsed_s": elapsed}]
        raw = json.dumps({"rankings": orderings})
        answer = (True, dict(zip(criteria, ranks, strict=True)), orderings, "", "", raw)
    head = (job_id, persona_id, question_id, shown)
    return (*head, *answer, len(log), log, elapsed, usage, settings, created_at)


def seed_judge_job(*, response_set, criteria_set, personas, responses, researcher, seed: int):
    """The judge job (through the service), every judgement (COPY) and its succeeded core Job."""
    from annotation.services.judging import JUDGE_JOB_KIND, judge_endpoint_with_defaults, judge_job_create

    judge_job = judge_job_create(
        name="Persona judges: therapeutic, 50 personas", response_set=response_set, criteria_set=criteria_set,
        personas=personas, created_by=researcher, endpoint=judge_endpoint_with_defaults(**ENDPOINT),
        shuffle_responses=True, launch=False,
    )  # fmt: skip
    criteria, question_ids = criteria_set.criterion_keys, list(responses)
    rng, nrng, now = random.Random(seed), np.random.default_rng(seed), timezone.now()

    def rows():
        for start in range(0, len(question_ids), 200):
            chunk = question_ids[start : start + 200]
            cube = _rank_cube(nrng, len(chunk), len(personas), len(criteria))
            for qi, qid in enumerate(chunk):
                for pi, persona in enumerate(personas):
                    ranks = cube[qi, pi].tolist()
                    yield _judgement_row(
                        judge_job.pk, persona.pk, qid, responses[qid], ranks, criteria, rng, now
                    )

    count = copy_rows(Judgement, JUDGEMENT_COLUMNS, rows())
    failed = judge_job.judgements.filter(ok=False).values_list("failure_kind").annotate(n=Count("id"))
    job = _finished_job(
        kind=JUDGE_JOB_KIND, params={"judge_job_id": judge_job.pk}, created_by=researcher, total=count,
        result={"total": count, "judged_now": count, "model": JUDGE_MODEL, "failures_by_kind": dict(failed)},
        minutes=count / 400,
    )  # fmt: skip
    type(judge_job).objects.filter(pk=judge_job.pk).update(job=job)
    return judge_job, count


def seed_campaign(*, response_set, criteria_set, responses, annotators, researcher, scale: float, seed: int):
    """~300 questions, each ranked by 3 of the annotators: most submitted, a few pending, skipped, flagged."""
    question_ids = list(responses)
    n = min(len(question_ids), max(3, round(STUDY["campaign_questions"] * scale)))
    chosen = question_ids[:: max(1, len(question_ids) // n)][:n]
    campaign = RankingCampaign.objects.create(
        name="Therapist ranking (3 per question)", response_set=response_set, criteria_set=criteria_set,
        instructions="Rank the five responses on each criterion, best first.", created_by=researcher,
    )  # fmt: skip
    rng, nrng, now = random.Random(seed), np.random.default_rng(seed), timezone.now()
    criteria = criteria_set.criterion_keys
    cube = _rank_cube(nrng, len(chosen), 3, len(criteria))
    load = {user.pk: 0 for user in annotators}
    tasks, task_ranks = [], []
    for qi, qid in enumerate(chosen):
        for slot, annotator_id in enumerate(sorted(load, key=lambda pk: (load[pk], rng.random()))[:3]):
            load[annotator_id] += 1
            shown = rng.sample(responses[qid], K)
            # 4% pending, 4% skipped, 2% flagged, spread evenly so that even a tiny campaign has each.
            turn = len(tasks) % 50
            state = "pending" if turn in (3, 28) else "skipped" if turn in (7, 32) else "submitted"
            flagged = turn == 1
            tasks.append(
                RankingTask(
                    campaign=campaign, question_id=qid, annotator_id=annotator_id, response_order=shown,
                    state=state, skip_reason="Not about mental health." if state == "skipped" else "",
                    flagged_harmful=flagged, flag_note="Response 3 dismisses the risk." if flagged else "",
                    submitted_at=None if state == "pending" else now,
                )
            )  # fmt: skip
            task_ranks.append(cube[qi, slot].tolist() if state == "submitted" else None)
    RankingTask.objects.bulk_create(tasks, batch_size=2000)
    rankings = []
    for task, ranks in zip(tasks, task_ranks, strict=True):
        if ranks is None:
            continue
        for key, row in zip(criteria, ranks, strict=True):
            rank_of = dict(zip(responses[task.question_id], row, strict=True))
            raw = {"display_order": task.response_order, "ranks": [rank_of[pk] for pk in task.response_order]}
            rankings.append(HumanRanking(task=task, criterion_key=key, ranks=row, raw=raw))
    HumanRanking.objects.bulk_create(rankings, batch_size=5000)
    return len(tasks)


def seed_snapshot(*, response_set, criteria_set, judge_job, researcher) -> tuple[Any, dict[str, Any]]:
    """Freeze over the judge job through the real service, timed: rows (persona and annotator rankings
    exported, as bench_snapshot_export.py counts evaluations) per second, and the peak RSS above the RSS
    before the freeze (sampled; includes Arrow's buffers)."""
    from bench_snapshot_export import RssPeak

    from annotation.services.snapshots import SNAPSHOT_FREEZE_KIND, snapshot_freeze, snapshot_spec_build

    spec = snapshot_spec_build(response_set=response_set, criteria_set=criteria_set, judge_jobs=[judge_job])
    name = "Therapeutic preferences (paper scale)"
    began = time.perf_counter()
    with RssPeak() as rss:
        snapshot, created = snapshot_freeze(name=name, spec=spec, created_by=researcher)
    seconds = time.perf_counter() - began
    counts = snapshot.manifest["counts"]
    rows = sum(counts["rankings"].values())
    _finished_job(
        kind=SNAPSHOT_FREEZE_KIND, params={"name": name, "spec": spec.configuration()}, created_by=researcher,
        total=rows, minutes=seconds / 60,
        result={"snapshot_id": snapshot.pk, "content_hash": snapshot.content_hash, "created": created},
    )  # fmt: skip
    return snapshot, {
        "rows": rows,
        "pairs": sum(v["train"] + v["test"] for v in counts["pairs"].values()),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "rss_peak_delta_mib": round(rss.peak_above_start / 2**20, 1),
        "archive_mib": round(snapshot.archive_size / 2**20, 1),
    }


def seed_runs(*, researcher, snapshot, criteria: Sequence[str], seed: int) -> dict[str, Any]:
    """Reward models per criterion, SFT, DPO, MODPO, three generation runs, one running and one failed run,
    each with the progress events a worker posts (loss every 10 steps, test loss every 50)."""
    from training_worker.models import BaseModel, RunArtifact, RunEvent, RunInput, TrainingRun

    rng, now, runs, events = random.Random(seed), timezone.now(), {}, []
    base = BaseModel.objects.create(
        name="Mistral-7B-Instruct-v0.2", path="mistralai/Mistral-7B-Instruct-v0.2"
    )
    backbone = BaseModel.objects.create(
        name="RoBERTa-large", path="FacebookAI/roberta-large", kind="reward_backbone"
    )
    hyper = {"learning_rate": 5e-6, "epochs": 3, "batch_size": 8, "seed": 0, "beta": 0.1, "lora_r": 16}
    weights = {c: 1.0 if c == "empathy" else 0.5 for c in criteria}
    generation = {"num_responses": 1, "temperature": 0.8, "max_new_tokens": 512, "seed": 0, "split": "test"}
    plan = [
        *((f"reward-{c}", "reward", {"criterion": c}, backbone, [], "model", 600) for c in criteria),
        ("sft", "sft", {}, base, [], "adapter", 900),
        ("dpo-empathy", "dpo", {"criterion": "empathy"}, None, ["sft"], "adapter", 900),
        ("modpo-survey", "modpo", {"criterion": "empathy", "weights": weights}, None,
         ["sft", *(f"reward-{c}" for c in criteria)], "adapter", 900),
        ("generate-base", "generate", generation, base, [], "responses", 60),
        ("generate-sft", "generate", generation, None, ["sft"], "responses", 60),
        ("generate-modpo", "generate", generation, None, ["modpo-survey"], "responses", 60),
        ("dpo-safety (running)", "dpo", {"criterion": "safety"}, None, ["sft"], "", 900),
        ("joint (failed)", "joint", {"criteria_weights": weights}, None, ["sft"], "", 900),
    ]  # fmt: skip
    for name, method, config, base_model, parents, artifact, steps in plan:
        status = (
            Status.RUNNING if "running" in name else Status.FAILED if "failed" in name else Status.SUCCEEDED
        )
        reached = steps if status == Status.SUCCEEDED else steps // 7
        run = TrainingRun.objects.create(
            name=name, method=method, config={**hyper, **config}, created_by=researcher, status=status,
            base_model=base_model, attempts=1, started_at=now - timedelta(hours=5),
            finished_at=None if status == Status.RUNNING else now, step=reached, total_steps=steps,
            last_metrics={"loss": 0.41}, code_version="bench", snapshot_hash=snapshot.content_hash,
            result={"metrics": {"train/loss": 0.41, "test/loss": 0.47}} if status == Status.SUCCEEDED else {},
            error="CUDA out of memory (tried to allocate 2.00 GiB)" if status == Status.FAILED else "",
        )  # fmt: skip
        run.parents.set([runs[parent] for parent in parents])
        RunInput.objects.create(
            run=run, name="snapshot", file=snapshot.archive.name, sha256=snapshot.archive_sha256
        )
        if artifact and status == Status.SUCCEEDED:
            RunArtifact.objects.create(
                run=run, name=artifact, file=f"run-artifacts/{run.pk}/{artifact}.tar",
                sha256=_sha(f"{run.pk}:{artifact}"), size=rng.randint(50, 900) * 2**20,
            )  # fmt: skip
        every = 10 if steps > 100 else 1
        for step in range(every, reached + 1, every):
            loss = 0.69 * (1 - 0.6 * step / steps) + rng.gauss(0, 0.03)
            metrics = {
                "loss": round(loss, 4),
                "learning_rate": 5e-6 * (1 - step / steps),
                "epoch": 3 * step / steps,
            }
            if step % (5 * every) == 0:
                metrics.update(
                    {"test/loss": round(loss + 0.05, 4), "test/accuracy": 0.5 + 0.3 * step / steps}
                )
            events.append(
                RunEvent(run=run, event_id=f"step-{step}", step=step, total_steps=steps, metrics=metrics)
            )
        runs[name] = run
    RunEvent.objects.bulk_create(events, batch_size=5000)
    return runs


def seed_evaluation(*, entrant_sets, personas, researcher, seed: int):
    """Persona judges compare the entrants pairwise on every test question (COPY, in the order the real job
    draws), the real service computes the statistics, and the core Job is left succeeded."""
    from annotation.services.judging import judge_endpoint_with_defaults
    from evaluation.models import Comparison, Evaluation
    from evaluation.selectors.evaluations import evaluation_pairs, first_models, persona_judge_key
    from evaluation.services.evaluations import (
        EVALUATION_JOB_KIND,
        evaluation_create,
        evaluation_results_compute,
    )

    criteria_set = CriteriaSet.objects.get(key="therapeutic_eval", is_current=True)
    criteria = criteria_set.criterion_keys
    evaluation = evaluation_create(
        name="Head-to-head: Base vs SFT vs MODPO Survey", criteria_set=criteria_set,
        response_sets=[response_set for response_set, _ in entrant_sets], labels=list(QUALITY),
        judge_kind="persona", personas=personas, created_by=researcher,
        endpoint=judge_endpoint_with_defaults(**ENDPOINT), launch=False,
    )  # fmt: skip
    responses = {response_set.pk: by_question for response_set, by_question in entrant_sets}
    question_ids = list(entrant_sets[0][1])
    pairs = evaluation_pairs(evaluation=evaluation)  # read before the COPY holds the connection
    rng, nrng, now = random.Random(seed), np.random.default_rng(seed), timezone.now()
    settings = {"model": JUDGE_MODEL, "temperature": 0.0, "seed": 0, "prompt_version": "persona-pairwise-v1"}
    shown_as = {
        "A": {"A": "first", "B": "second", "tie": "tie"},
        "B": {"A": "second", "B": "first", "tie": "tie"},
    }

    def rows():
        for model_a, model_b in pairs:
            edge = QUALITY[model_a.label] - QUALITY[model_b.label] + nrng.normal(0, 0.3, size=len(criteria))
            draws = nrng.random((len(question_ids), len(personas), len(criteria)))
            codes = np.where(draws < 0.85 / (1 + np.exp(-edge)), 0, np.where(draws < 0.85, 1, 2))
            for qi, qid in enumerate(question_ids):
                ra, rb = (
                    responses[model_a.response_set_id][qid][0],
                    responses[model_b.response_set_id][qid][0],
                )
                for pi, persona in enumerate(personas):
                    key = persona_judge_key(persona.pk)
                    pair = (model_a.pk, model_b.pk)
                    (first,) = first_models(evaluation=evaluation, question_id=qid, pair=pair, judge_key=key)
                    elapsed = round(rng.uniform(1.0, 4.0), 3)
                    log = [{"attempt": 1, "status_code": 200, "error_kind": None, "elapsed_s": elapsed}]
                    head = (evaluation.pk, qid, model_a.pk, model_b.pk, key, persona.pk, first)
                    head += (ra, rb) if first == "A" else (rb, ra)
                    tail = (
                        1,
                        log,
                        elapsed,
                        {"prompt_tokens": 1400, "completion_tokens": 60},
                        settings,
                        now,
                        now,
                    )
                    if rng.random() < 0.005:
                        yield (*head, False, None, None, "malformed_json", "not a JSON object", "{", *tail)
                        continue
                    outcomes = dict(zip(criteria, (("A", "B", "tie")[c] for c in codes[qi, pi]), strict=True))
                    verdicts = {c: shown_as[first][o] for c, o in outcomes.items()}
                    yield (*head, True, verdicts, outcomes, "", "", json.dumps({"verdicts": verdicts}), *tail)

    count = copy_rows(Comparison, COMPARISON_COLUMNS, rows())
    results = evaluation_results_compute(evaluation=evaluation)
    job = _finished_job(
        kind=EVALUATION_JOB_KIND, params={"evaluation_id": evaluation.pk, "retry_failed": False},
        created_by=researcher, total=count, minutes=count / 600,
        result={"total": count, "stored": results["counts"], "pairs": len(results["pairs"])},
    )  # fmt: skip
    Evaluation.objects.filter(pk=evaluation.pk).update(job=job)
    return evaluation, count


def seed_clinician_study(
    *, evaluation, set_a, set_b, clinicians, researcher, n_scenarios: int, seed: int
) -> None:
    """A blinded study of MODPO Survey vs Base through the services: every assignment rated, then closed and
    unblinded (its page then shows the statistics)."""
    from evaluation.models import StudyAssignment, StudyRating
    from evaluation.services.studies import (
        clinician_study_close,
        clinician_study_create,
        clinician_study_unblind,
    )

    criteria_set = CriteriaSet.objects.get(key="therapeutic_eval", is_current=True)
    study = clinician_study_create(
        name="Clinicians: MODPO Survey vs Base", criteria_set=criteria_set, response_set_a=set_a,
        response_set_b=set_b, label_a="MODPO Survey", label_b="Base", clinicians=clinicians,
        created_by=researcher, n_scenarios=n_scenarios, raters_per_item=2, trained_model="A",
        ask_blinding_guess=True, judge_evaluation=evaluation,
    )  # fmt: skip
    rng, now = random.Random(seed), timezone.now()
    assignments = list(StudyAssignment.objects.filter(item__study=study))
    StudyRating.objects.bulk_create(
        StudyRating(assignment=a, criterion_key=c, choice=rng.choice(["A", "A", "B", "tie"]))
        for a in assignments
        for c in criteria_set.criterion_keys
    )
    for a in assignments:
        a.submitted_at, a.blinding_guess = now, rng.choice(["A", "B", "dont_know"])
    StudyAssignment.objects.bulk_update(assignments, ["submitted_at", "blinding_guess"], batch_size=2000)
    clinician_study_close(study=study, actor=researcher)
    clinician_study_unblind(study=study, actor=researcher)


@contextmanager
def step(label: str) -> Iterator[None]:
    """Prints a seeding step with its duration."""
    began = time.perf_counter()
    yield
    print(f"  {label:<58} {time.perf_counter() - began:6.1f} s", flush=True)


def seed(*, scale: float, seed: int = 0) -> dict[str, Any]:
    """Fill the migrated, empty database; returns the figures, also stored on the bank to mark it complete."""
    rng, began = random.Random(seed), time.perf_counter()
    criteria_set = CriteriaSet.objects.get(key="therapeutic", is_current=True)
    with step("users, bank, questions, personas"):
        (researcher,) = _users("researcher", Role.RESEARCHER, 1)
        annotators, clinicians = (
            _users("annotator", Role.ANNOTATOR, 5),
            _users("clinician", Role.CLINICIAN, 6),
        )
        bank, question_ids, splits = seed_bank(scale=scale, rng=rng)
        train_personas, test_personas = seed_personas(rng=rng)
    with step(f"{len(question_ids) * K:,} candidate responses (K={K})"):
        response_set, responses = seed_responses(
            bank=bank, name="Mistral-7B-Instruct candidates", question_ids=question_ids, k=K, rng=rng,
            origin=ResponseSet.Origin.IMPORTED, source="model:mistral-7b-instruct-v0.2 (T=0.8)",
        )  # fmt: skip
    with step(f"{len(question_ids) * PERSONAS:,} judgements (COPY)"):
        judge_job, n_judgements = seed_judge_job(
            response_set=response_set, criteria_set=criteria_set, personas=train_personas,
            responses=responses, researcher=researcher, seed=seed,
        )  # fmt: skip
    with step("ranking campaign"):
        n_tasks = seed_campaign(
            response_set=response_set, criteria_set=criteria_set, responses=responses, annotators=annotators,
            researcher=researcher, scale=scale, seed=seed,
        )  # fmt: skip
    with step("snapshot freeze (the real service)"):
        snapshot, export = seed_snapshot(
            response_set=response_set, criteria_set=criteria_set, judge_job=judge_job, researcher=researcher
        )
    with step("training runs and events"):
        runs = seed_runs(
            researcher=researcher, snapshot=snapshot, criteria=criteria_set.criterion_keys, seed=seed
        )
    test_ids = [qid for qid, split in zip(question_ids, splits, strict=True) if split == "test"]
    with step("generated response sets (3 models x test questions)"):
        entrant_sets = [
            seed_responses(
                bank=bank, name=f"{label} (test, generated)", question_ids=test_ids, k=1, rng=rng,
                origin=ResponseSet.Origin.GENERATED, source=f"run:{runs[key].pk}", training_run=runs[key],
                generation_settings=runs[key].config,
            )
            for label, key in zip(QUALITY, ("generate-base", "generate-sft", "generate-modpo"), strict=True)
        ]  # fmt: skip
    with step(f"evaluation: {3 * len(test_ids) * PERSONAS:,} comparisons + statistics"):
        evaluation, n_comparisons = seed_evaluation(
            entrant_sets=entrant_sets, personas=test_personas, researcher=researcher, seed=seed
        )
    with step("clinician study (rated, closed, unblinded)"):
        seed_clinician_study(
            evaluation=evaluation, set_a=entrant_sets[2][0], set_b=entrant_sets[0][0], clinicians=clinicians,
            researcher=researcher, n_scenarios=min(STUDY["scenarios"], len(test_ids)), seed=seed,
        )  # fmt: skip
    with step("ANALYZE"), connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figures = {
        "scale": scale, "complete": True, "seconds": round(time.perf_counter() - began, 1),
        "questions": len(question_ids), "judgements": n_judgements, "campaign_tasks": n_tasks,
        "comparisons": n_comparisons, "runs": len(runs), "export": export,
    }  # fmt: skip
    QuestionBank.objects.filter(pk=bank.pk).update(import_settings={**bank.import_settings, "bench": figures})
    return figures


def seeded_figures() -> dict[str, Any] | None:
    """The figures of a complete earlier seeding in this database, or None."""
    bank = QuestionBank.objects.filter(name=BANK_NAME).first()
    figures = bank.import_settings.get("bench") if bank else None
    return figures if figures and figures.get("complete") else None
