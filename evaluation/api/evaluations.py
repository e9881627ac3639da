"""Researcher API for head-to-head evaluations: list, create and launch, detail, relaunch, cancel."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.judges import JudgeEndpointSerializer
from annotation.models import JudgePersona, ResponseSet, SplitScope
from core.api import StrictSerializer
from core.permissions import IsResearcher
from criteria.models import CriteriaSet
from evaluation.models import Evaluation, JudgeKind, VoteRule
from evaluation.selectors.evaluations import (
    evaluation_counts,
    evaluation_provenance,
    evaluation_work_total,
    evaluations_list,
)
from evaluation.services.evaluations import (
    MAX_MODELS,
    evaluation_cancel,
    evaluation_create,
    evaluation_launch,
)
from training_worker.models import TrainingRun

ID = {"min_value": 1, "max_value": 2**62}


class EntrantSerializer(serializers.Serializer):
    label = serializers.CharField()
    response_set = serializers.IntegerField(source="response_set_id")
    position = serializers.IntegerField()


class EvaluationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    criteria_set = serializers.CharField(source="criteria_set.key")
    criteria_set_version = serializers.IntegerField(source="criteria_set.version")
    judge_kind = serializers.CharField()
    split = serializers.CharField()
    both_orders = serializers.BooleanField()
    vote_rule = serializers.CharField()
    model = serializers.CharField()
    prompt_version = serializers.CharField()
    score_run = serializers.IntegerField(source="score_run_id", allow_null=True)
    job = serializers.IntegerField(source="job_id", allow_null=True)
    status = serializers.CharField(source="job.status", default="created")
    progress_done = serializers.IntegerField(source="job.progress_done", default=0)
    progress_total = serializers.IntegerField(source="job.progress_total", default=0)
    models = EntrantSerializer(source="entrants.all", many=True)
    results_computed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class EvaluationDetailSerializer(EvaluationSerializer):
    counts = serializers.DictField(read_only=True)
    total = serializers.IntegerField(read_only=True)
    results = serializers.DictField()
    provenance = serializers.DictField(read_only=True)


class EvaluationCreateSerializer(JudgeEndpointSerializer):
    name = serializers.CharField(max_length=200)
    criteria_set = serializers.SlugField(max_length=64, help_text="Key of a criteria set (current version).")
    response_sets = serializers.ListField(
        child=serializers.IntegerField(**ID), min_length=2, max_length=MAX_MODELS, help_text="One per model."
    )
    labels = serializers.ListField(
        child=serializers.CharField(max_length=120), required=False, max_length=MAX_MODELS, allow_null=True
    )
    judge_kind = serializers.ChoiceField(choices=JudgeKind.choices)
    personas = serializers.ListField(
        child=serializers.IntegerField(**ID), required=False, max_length=1000, help_text="Test personas."
    )
    reward_runs = serializers.ListField(
        child=serializers.IntegerField(**ID), required=False, max_length=50, help_text="Reward-model runs."
    )
    split = serializers.ChoiceField(choices=SplitScope.choices, default=SplitScope.TEST)
    max_questions = serializers.IntegerField(
        min_value=1, max_value=10_000_000, required=False, allow_null=True
    )
    response_index = serializers.IntegerField(min_value=0, max_value=999, default=0)
    both_orders = serializers.BooleanField(default=False)
    vote_rule = serializers.ChoiceField(choices=VoteRule.choices, default=VoteRule.PLURALITY)
    # In this API `seed` has always seeded the presentation order and `judge_seed` the judge's sampling.
    seed = serializers.IntegerField(
        source="order_seed", min_value=0, max_value=2**31 - 1, default=0, help_text="Presentation order."
    )
    judge_seed = serializers.IntegerField(
        source="seed", min_value=0, max_value=2**31 - 1, required=False, allow_null=True
    )
    tie_margin = serializers.FloatField(min_value=0.0, max_value=1e6, default=0.0)
    launch = serializers.BooleanField(default=True)


class EvaluationLaunchSerializer(StrictSerializer):
    retry_failed = serializers.BooleanField(default=False, help_text="Attempt failed comparisons again.")


def _evaluation(pk: int) -> Evaluation:
    evaluation = evaluations_list().filter(pk=pk).first()
    if evaluation is None:
        raise Http404("No such evaluation.")
    return evaluation


def _detail(evaluation: Evaluation) -> dict:
    evaluation.counts = evaluation_counts(evaluation=evaluation)
    evaluation.total = evaluation_work_total(evaluation=evaluation)
    evaluation.provenance = evaluation_provenance(evaluation=evaluation)
    return EvaluationDetailSerializer(evaluation).data


def _by_ids(model, ids: list[int], field: str, errors: dict) -> list:
    found = {obj.pk: obj for obj in model.objects.filter(pk__in=ids)}
    if len(found) != len(set(ids)):
        errors[field] = ["Unknown ids."]
    return [found[pk] for pk in ids if pk in found]


class EvaluationListApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Head-to-head evaluations, newest first", responses=EvaluationSerializer(many=True)
    )
    def get(self, request):
        return Response(EvaluationSerializer(evaluations_list()[:200], many=True).data)

    @extend_schema(
        summary="Create a head-to-head evaluation and queue it",
        request=EvaluationCreateSerializer,
        responses={201: EvaluationDetailSerializer},
    )
    def post(self, request):
        serializer = EvaluationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        errors: dict[str, list[str]] = {}
        criteria_set = CriteriaSet.objects.filter(key=data.pop("criteria_set"), is_current=True).first()
        if criteria_set is None:
            errors["criteria_set"] = ["No such criteria set."]
        data["response_sets"] = _by_ids(ResponseSet, data["response_sets"], "response_sets", errors)
        data["personas"] = _by_ids(JudgePersona, data.get("personas") or [], "personas", errors)
        data["reward_runs"] = _by_ids(TrainingRun, data.get("reward_runs") or [], "reward_runs", errors)
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        evaluation = evaluation_create(criteria_set=criteria_set, created_by=request.user, **data)
        return Response(_detail(_evaluation(evaluation.pk)), status=status.HTTP_201_CREATED)


class EvaluationDetailApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="An evaluation with progress, stored results and provenance",
        responses=EvaluationDetailSerializer,
    )
    def get(self, request, pk: int):
        return Response(_detail(_evaluation(pk)))


class EvaluationLaunchApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Run the evaluation again: resumes after stored comparisons (reward models: ingest scores)",
        request=EvaluationLaunchSerializer,
        responses={202: EvaluationDetailSerializer},
    )
    def post(self, request, pk: int):
        evaluation = _evaluation(pk)
        serializer = EvaluationLaunchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evaluation_launch(evaluation=evaluation, actor=request.user, **serializer.validated_data)
        return Response(_detail(_evaluation(pk)), status=status.HTTP_202_ACCEPTED)


class EvaluationCancelApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(summary="Cancel the running execution", request=None, responses=EvaluationDetailSerializer)
    def post(self, request, pk: int):
        evaluation = _evaluation(pk)
        if not evaluation_cancel(evaluation=evaluation, actor=request.user):
            return Response({"detail": "Nothing to cancel."}, status=status.HTTP_409_CONFLICT)
        return Response(_detail(_evaluation(pk)))
