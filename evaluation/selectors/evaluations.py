"""Reads for head-to-head evaluations: questions in scope, work items, per-pair statistics, provenance.

Statistics come from :mod:`evaluation.stats.winrates`. With one presentation order per comparison the
persona votes are counted in SQL, per (model pair, question) and criterion, and reduced with
``majority_vote_counts`` and ``win_rate`` (the path the stats module provides for counts aggregated
upstream). With both orders, each judge's two verdicts are combined with ``resolve_positions`` (a win counts
only when both orders agree) and reduced with ``head_to_head``; a judge whose other order is missing (it
failed) is left out of that question rather than counted with its position bias.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import combinations
from typing import Any

import numpy as np
from django.db.models import Count, Q, QuerySet

from annotation.models import CandidateResponse, Question, ResponseSet, SplitScope
from core.models import Status
from evaluation.models import Comparison, Entrant, Evaluation, JudgeKind
from evaluation.stats.winrates import (
    HeadToHead,
    PositionJudgement,
    head_to_head,
    majority_vote_counts,
    resolve_positions,
    win_rate,
)
from training_worker.models import RunArtifact, TrainingRun

REWARD_JUDGE_KEY = "reward_models"
_OUTCOME_CODES = (("a", "A"), ("b", "B"), ("t", "tie"))


def evaluations_list() -> QuerySet[Evaluation]:
    return (
        Evaluation.objects.select_related("criteria_set", "job", "score_run", "created_by")
        .prefetch_related("entrants__response_set")
        .annotate(
            n_ok=Count("comparisons", filter=Q(comparisons__ok=True)),
            n_failed=Count("comparisons", filter=Q(comparisons__ok=False)),
        )
        .order_by("-created_at", "-id")
    )


def persona_judge_key(persona_id: int) -> str:
    return f"persona:{persona_id}"


def shared_questions(
    *, response_sets: Sequence[ResponseSet], split: str, response_index: int
) -> QuerySet[Question]:
    """Questions of the sets' (common) bank in `split` that every set answers at `response_index`."""
    questions = Question.objects.filter(bank_id=response_sets[0].bank_id)
    if split != SplitScope.ALL:
        questions = questions.filter(split=split)
    for response_set in response_sets:
        questions = questions.filter(
            pk__in=CandidateResponse.objects.filter(response_set=response_set, index=response_index).values(
                "question_id"
            )
        )
    return questions.order_by("position")


def evaluation_entrants(*, evaluation: Evaluation) -> list[Entrant]:
    return list(evaluation.entrants.select_related("response_set").order_by("position"))


def evaluation_pairs(*, evaluation: Evaluation) -> list[tuple[Entrant, Entrant]]:
    """Every unordered pair of models, the earlier one (by position) as model A."""
    return list(combinations(evaluation_entrants(evaluation=evaluation), 2))


def evaluation_question_ids(*, evaluation: Evaluation) -> list[int]:
    response_sets = [entrant.response_set for entrant in evaluation_entrants(evaluation=evaluation)]
    ids = list(
        shared_questions(
            response_sets=response_sets, split=evaluation.split, response_index=evaluation.response_index
        ).values_list("pk", flat=True)
    )
    return ids[: evaluation.max_questions] if evaluation.max_questions else ids


def evaluation_criteria(*, evaluation: Evaluation) -> list[str]:
    """Criterion keys judged: the whole set for persona judges, those with a reward model otherwise."""
    keys = [criterion.key for criterion in evaluation.criteria_set.criteria.all()]
    if evaluation.judge_kind == JudgeKind.PERSONA:
        return keys
    scored = {run.config.get("criterion") for run in evaluation.reward_runs.all()}
    return [key for key in keys if key in scored]


def first_models(*, evaluation: Evaluation, question_id: int, pair: tuple[int, int], judge_key: str) -> tuple:
    """Which model is shown first: both orders, or one drawn at random but reproducibly (a resumed job
    draws the same order for the same item, so the unique key still finds it)."""
    if evaluation.both_orders:
        return ("A", "B")
    draw = random.Random(
        f"{evaluation.pk}:{evaluation.order_seed}:{pair[0]}:{pair[1]}:{question_id}:{judge_key}"
    )
    return ("A" if draw.random() < 0.5 else "B",)


def responses_by_set_and_question(
    *, response_set_ids: Iterable[int], question_ids: Iterable[int], response_index: int
) -> dict[tuple[int, int], tuple[int, str]]:
    """{(response set id, question id): (response id, text)} for the chosen candidate index."""
    rows = CandidateResponse.objects.filter(
        response_set_id__in=list(response_set_ids), question_id__in=list(question_ids), index=response_index
    ).values_list("response_set_id", "question_id", "pk", "text")
    return {(set_id, question_id): (pk, text) for set_id, question_id, pk, text in rows}


def done_keys(
    *, evaluation: Evaluation, question_ids: Iterable[int], include_failed: bool = True
) -> set[tuple[int, int, int, str, str]]:
    """(question, model A, model B, judge, first model) of comparisons already stored."""
    rows = Comparison.objects.filter(evaluation=evaluation, question_id__in=list(question_ids))
    if not include_failed:
        rows = rows.filter(ok=True)
    return set(rows.values_list("question_id", "model_a_id", "model_b_id", "judge_key", "first_model"))


def evaluation_work_total(*, evaluation: Evaluation) -> int:
    """Comparisons a complete run stores (persona judges: questions x pairs x personas x orders)."""
    n_models = evaluation.entrants.count()
    n_pairs = n_models * (n_models - 1) // 2
    orders = 2 if evaluation.both_orders else 1
    judges = evaluation.personas.count() if evaluation.judge_kind == JudgeKind.PERSONA else 1
    return len(evaluation_question_ids(evaluation=evaluation)) * n_pairs * orders * judges


def evaluation_counts(*, evaluation: Evaluation) -> dict[str, Any]:
    """Stored comparisons: valid, failed, and failures by kind."""
    rows = Comparison.objects.filter(evaluation=evaluation)
    by_kind = rows.filter(ok=False).values("failure_kind").annotate(n=Count("pk")).order_by("failure_kind")
    return {
        "ok": rows.filter(ok=True).count(),
        "failed": rows.filter(ok=False).count(),
        "failures_by_kind": {row["failure_kind"]: row["n"] for row in by_kind},
    }


def failed_comparisons(*, evaluation: Evaluation, limit: int = 50) -> QuerySet[Comparison]:
    return (
        Comparison.objects.filter(evaluation=evaluation, ok=False)
        .select_related("model_a", "model_b", "persona")
        .order_by("-updated_at", "-id")[:limit]
    )


# ---- statistics ------------------------------------------------------------------------------------


def _counted_head_to_heads(
    evaluation: Evaluation,
    pairs: list[tuple[Entrant, Entrant]],
    criteria: list[str],
) -> list[HeadToHead]:
    aggregates = {
        f"n{index}{code}": Count("pk", filter=Q(**{f"outcomes__{criterion}": outcome}))
        for index, criterion in enumerate(criteria)
        for code, outcome in _OUTCOME_CODES
    }
    wanted = Q()
    for model_a, model_b in pairs:
        wanted |= Q(model_a=model_a, model_b=model_b)
    rows = (
        Comparison.objects.filter(wanted, evaluation=evaluation, ok=True)
        .values("model_a_id", "model_b_id", "question_id")
        .annotate(**aggregates)
        .order_by("model_a_id", "model_b_id", "question_id")
    )
    by_pair: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_pair[(row["model_a_id"], row["model_b_id"])].append(row)
    results = []
    for model_a, model_b in pairs:
        pair_rows = by_pair.get((model_a.pk, model_b.pk), [])
        questions = np.array([row["question_id"] for row in pair_rows], dtype=np.int64)
        per_criterion = {}
        question_outcomes = {}
        n_judgements = 0
        for index, criterion in enumerate(criteria):
            n_a, n_b, n_t = (
                np.array([row[f"n{index}{code}"] for row in pair_rows], dtype=np.int64)
                for code, _ in _OUTCOME_CODES
            )
            voted = (n_a + n_b + n_t) > 0
            if not voted.any():
                continue
            n_judgements += int((n_a + n_b + n_t).sum())
            outcomes = majority_vote_counts(
                n_a=n_a[voted], n_b=n_b[voted], n_tie=n_t[voted], rule=evaluation.vote_rule
            )
            question_outcomes[criterion] = dict(
                zip(questions[voted].tolist(), outcomes.tolist(), strict=True)
            )
            per_criterion[criterion] = win_rate(
                outcomes=outcomes, model_a=model_a.label, model_b=model_b.label, criterion=criterion
            )
        results.append(
            HeadToHead(
                model_a=model_a.label,
                model_b=model_b.label,
                rule=evaluation.vote_rule,
                n_judgements=n_judgements,
                results=per_criterion,
                question_outcomes=question_outcomes,
            )
        )
    return results


def _position_judgements(
    rows: Iterable[tuple[int, str, str, dict[str, str]]], criteria: list[str]
) -> Iterator[PositionJudgement]:
    """Position-level judgements of the judges that answered in both orders (complete groups only)."""
    groups: dict[tuple[int, str], list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for question_id, judge_key, first_model, verdicts in rows:
        groups[(question_id, judge_key)].append((first_model, verdicts))
    for (question_id, judge_key), answers in groups.items():
        if len(answers) != 2:
            continue
        for first_model, verdicts in answers:
            for criterion in criteria:
                if criterion in verdicts:
                    yield PositionJudgement(
                        question_id, judge_key, criterion, verdicts[criterion], first_model
                    )


def _resolved_head_to_heads(
    evaluation: Evaluation,
    pairs: list[tuple[Entrant, Entrant]],
    criteria: list[str],
) -> list[HeadToHead]:
    results = []
    for model_a, model_b in pairs:
        rows = (
            Comparison.objects.filter(evaluation=evaluation, ok=True, model_a=model_a, model_b=model_b)
            .values_list("question_id", "judge_key", "first_model", "verdicts")
            .iterator(chunk_size=5000)
        )
        judgements = resolve_positions(
            judgements=_position_judgements(rows, criteria), require_both_orders=True
        )
        results.append(
            head_to_head(
                judgements=judgements, model_a=model_a.label, model_b=model_b.label, rule=evaluation.vote_rule
            )
        )
    return results


def pair_head_to_heads(
    *,
    evaluation: Evaluation,
    pairs: list[tuple[Entrant, Entrant]] | None = None,
) -> list[HeadToHead]:
    """Per model pair: majority vote over judges per question, then win rates per criterion."""
    pairs = evaluation_pairs(evaluation=evaluation) if pairs is None else pairs
    criteria = evaluation_criteria(evaluation=evaluation)
    if evaluation.both_orders:
        return _resolved_head_to_heads(evaluation, pairs, criteria)
    return _counted_head_to_heads(evaluation, pairs, criteria)


def question_outcomes_for_sets(
    *, evaluation: Evaluation, response_set_a: ResponseSet, response_set_b: ResponseSet
) -> dict[str, dict[int, str]] | None:
    """{criterion: {question id: "A" | "B" | "tie"}} with "A" = `response_set_a`, or None if the evaluation
    does not compare these two sets."""
    entrants = {entrant.response_set_id: entrant for entrant in evaluation_entrants(evaluation=evaluation)}
    first, second = entrants.get(response_set_a.pk), entrants.get(response_set_b.pk)
    if first is None or second is None:
        return None
    swapped = first.position > second.position
    pair = (second, first) if swapped else (first, second)
    (result,) = pair_head_to_heads(evaluation=evaluation, pairs=[pair])
    flip = {"A": "B", "B": "A", "tie": "tie"}
    return {
        criterion: {q: flip[o] if swapped else o for q, o in outcomes.items()}
        for criterion, outcomes in result.question_outcomes.items()
    }


# ---- provenance -------------------------------------------------------------------------------------


def _policy_runs(run: TrainingRun) -> list[TrainingRun]:
    """The runs whose artifacts a run consumed (its parents, and the owners of its input files)."""
    parents = {parent.pk: parent for parent in run.parents.all()}
    input_files = list(run.inputs.values_list("file", flat=True))
    for artifact in RunArtifact.objects.filter(file__in=input_files).select_related("run"):
        parents.setdefault(artifact.run.pk, artifact.run)
    return sorted(parents.values(), key=lambda item: item.pk)


def _run_summary(run: TrainingRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "name": run.name,
        "method": run.method,
        "status": run.status,
        "snapshot_hash": run.snapshot_hash or None,
    }


def response_set_lineage(*, response_set: ResponseSet) -> dict[str, Any]:
    """A response set, the run that generated it, the policy runs (or registered base model) whose model
    that run sampled, and the dataset snapshots behind them."""
    generation = response_set.training_run
    lineage_runs = [generation, *_policy_runs(generation)] if generation is not None else []
    base_model = generation.base_model if generation is not None else None
    snapshots = {run.snapshot_hash for run in lineage_runs if run.snapshot_hash}
    generated_from = (response_set.generation_settings or {}).get("snapshot_hash")
    if generated_from:
        snapshots.add(generated_from)
    return {
        "response_set_id": response_set.pk,
        "response_set": response_set.name,
        "origin": response_set.source,
        "generation_run_id": generation.pk if generation else None,
        "policy_run_ids": [run.pk for run in lineage_runs[1:]],
        "policy_runs": [{"id": run.pk, "name": run.name, "method": run.method} for run in lineage_runs[1:]],
        "base_model": {"name": base_model.name, "path": base_model.path} if base_model else None,
        "snapshot_hashes": sorted(snapshots),
        "runs": [_run_summary(run) for run in lineage_runs],
    }


def evaluation_provenance(*, evaluation: Evaluation) -> dict[str, Any]:
    """Where every number comes from: the evaluation, its judge, each model's response set and the runs
    and dataset snapshots behind them. Named in every figure and export."""
    models = []
    runs: dict[int, dict[str, Any]] = {}
    snapshots: set[str] = set()
    for entrant in evaluation_entrants(evaluation=evaluation):
        lineage = response_set_lineage(response_set=entrant.response_set)
        for run in lineage.pop("runs"):
            runs[run["id"]] = run
        snapshots.update(lineage["snapshot_hashes"])
        models.append({"label": entrant.label, "response_index": evaluation.response_index, **lineage})
    judge: dict[str, Any] = {"kind": evaluation.judge_kind}
    if evaluation.judge_kind == JudgeKind.PERSONA:
        judge.update(
            model=evaluation.model,
            base_url=evaluation.base_url,
            temperature=evaluation.temperature,
            seed=evaluation.seed,
            personas=evaluation.personas.count(),
            prompt_version=evaluation.prompt_version,
            prompt_template_sha256=evaluation.prompt_template_sha256,
        )
    else:
        reward_runs = list(evaluation.reward_runs.order_by("pk"))
        judge.update(
            reward_runs={run.config.get("criterion"): run.pk for run in reward_runs},
            score_run=evaluation.score_run_id,
            tie_margin=evaluation.tie_margin,
        )
        for run in reward_runs + ([evaluation.score_run] if evaluation.score_run else []):
            runs[run.pk] = _run_summary(run)
            if run.snapshot_hash:
                snapshots.add(run.snapshot_hash)
    return {
        "evaluation": {
            "id": evaluation.pk,
            "name": evaluation.name,
            "criteria_set": {"key": evaluation.criteria_set.key, "version": evaluation.criteria_set.version},
            "split": evaluation.split,
            "response_index": evaluation.response_index,
            "both_orders": evaluation.both_orders,
            "vote_rule": evaluation.vote_rule,
            "results_computed_at": (
                evaluation.results_computed_at.isoformat() if evaluation.results_computed_at else None
            ),
        },
        "judge": judge,
        "models": models,
        "runs": [runs[pk] for pk in sorted(runs)],
        "snapshots": sorted(snapshots),
    }


def reward_runs_available() -> QuerySet[TrainingRun]:
    """Succeeded reward-model runs, newest first (candidates for reward-model judges)."""
    return TrainingRun.objects.filter(method="reward", status=Status.SUCCEEDED).order_by("-created_at", "-id")
