"""Reads for question banks, response sets and candidate responses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from annotation.models import CandidateResponse, Question, QuestionBank, ResponseSet, SplitScope


def question_banks_list() -> QuerySet[QuestionBank]:
    return QuestionBank.objects.annotate(
        question_count=Count("questions", distinct=True),
        test_count=Count("questions", filter=Q(questions__split="test"), distinct=True),
    ).order_by("-created_at", "-id")


def response_sets_list(*, bank: QuestionBank | None = None) -> QuerySet[ResponseSet]:
    sets = ResponseSet.objects.select_related("bank", "training_run").annotate(
        response_count=Count("responses", distinct=True),
        question_count=Count("responses__question", distinct=True),
    )
    if bank is not None:
        sets = sets.filter(bank=bank)
    return sets.order_by("-created_at", "-id")


def response_sets_ready() -> QuerySet[ResponseSet]:
    """Response sets that can be ranked or evaluated, with their bank (each label names it: no query each)."""
    return (
        ResponseSet.objects.filter(state=ResponseSet.State.READY)
        .select_related("bank")
        .order_by("bank__name", "name", "id")
    )


def questions_in_scope(*, bank: QuestionBank, split: str) -> QuerySet[Question]:
    questions = Question.objects.filter(bank=bank)
    if split != SplitScope.ALL:
        questions = questions.filter(split=split)
    return questions.order_by("position")


def rankable_questions(*, response_set: ResponseSet, split: str = SplitScope.ALL) -> QuerySet[Question]:
    """Questions of the set's bank (in `split`) that have at least two responses in the set, in file order."""
    return (
        questions_in_scope(bank=response_set.bank, split=split)
        .annotate(n_responses=Count("responses", filter=Q(responses__response_set=response_set)))
        .filter(n_responses__gte=2)
    )


def response_ids_by_question(
    *, response_set: ResponseSet, question_ids: Iterable[int]
) -> dict[int, list[int]]:
    """Each question's response ids in canonical order (by index): the order rank vectors follow."""
    ids: dict[int, list[int]] = defaultdict(list)
    rows = (
        CandidateResponse.objects.filter(response_set=response_set, question_id__in=list(question_ids))
        .order_by("question_id", "index")
        .values_list("question_id", "pk")
    )
    for question_id, pk in rows:
        ids[question_id].append(pk)
    return dict(ids)
