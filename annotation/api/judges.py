"""Researcher API for persona judge jobs: list, create (and launch), launch again (resume), cancel."""

from django.core.validators import MaxValueValidator
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import ENDPOINT_FIELDS, JudgeJob, ResponseSet, SplitScope
from annotation.selectors.judging import judge_jobs_list, personas_list
from annotation.services.judging import (
    judge_endpoint_limits,
    judge_endpoint_with_defaults,
    judge_job_cancel,
    judge_job_create,
    judge_job_launch,
)
from core.api import StrictSerializer
from core.permissions import IsResearcher
from criteria.models import CriteriaSet

MAX_PERSONAS = 1000


class JudgeJobSerializer(serializers.ModelSerializer):
    response_set = serializers.PrimaryKeyRelatedField(read_only=True)
    criteria_set = serializers.CharField(source="criteria_set.key")
    criteria_set_version = serializers.IntegerField(source="criteria_set.version")
    job = serializers.PrimaryKeyRelatedField(read_only=True)
    status = serializers.CharField(source="job.status", default="created")
    progress_done = serializers.IntegerField(source="job.progress_done", default=0)
    progress_total = serializers.IntegerField(source="job.progress_total", default=0)
    n_ok = serializers.IntegerField(read_only=True)
    n_failed = serializers.IntegerField(read_only=True)
    n_personas = serializers.IntegerField(read_only=True)

    class Meta:
        model = JudgeJob
        fields = [
            "id",
            "name",
            "response_set",
            "criteria_set",
            "criteria_set_version",
            "split",
            "max_questions",
            "base_url",
            "model",
            "temperature",
            "seed",
            "prompt_version",
            "prompt_template_sha256",
            "shuffle_responses",
            "job",
            "status",
            "progress_done",
            "progress_total",
            "n_ok",
            "n_failed",
            "n_personas",
            "created_at",
        ]


class JudgeEndpointSerializer(StrictSerializer):
    """The judge endpoint settings, for every API that launches LLM judges.

    ``validated_data["endpoint"]`` is the :class:`~judges.endpoint.JudgeEndpoint` (what is left out takes
    the server's default) in place of the separate fields.
    """

    base_url = serializers.URLField(max_length=500, required=False, help_text="Default: JUDGE_API_BASE_URL.")
    model = serializers.CharField(max_length=200, required=False, help_text="Default: JUDGE_MODEL.")
    temperature = serializers.FloatField(min_value=0.0, max_value=2.0, default=0.0)
    seed = serializers.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        help_text="The judge's sampling seed.",
    )
    max_tokens = serializers.IntegerField(min_value=1, max_value=100_000, required=False, allow_null=True)
    timeout_s = serializers.FloatField(min_value=0.1, max_value=3600, default=120.0)
    max_retries = serializers.IntegerField(min_value=0, max_value=10, default=3)
    max_concurrency = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Default: JUDGE_MAX_CONCURRENCY; at most JUDGE_MAX_CONCURRENCY_LIMIT.",
    )
    requests_per_minute = serializers.FloatField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Default: JUDGE_REQUESTS_PER_MINUTE; 0: no client-side limit; at most "
        "JUDGE_REQUESTS_PER_MINUTE_LIMIT.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, limit in judge_endpoint_limits().items():
            self.fields[name].validators.append(MaxValueValidator(limit))

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        # Keyed by JudgeEndpoint field (a subclass may expose one under another name through `source`).
        chosen = {name: attrs.pop(name, None) for name in ENDPOINT_FIELDS}
        try:
            attrs["endpoint"] = judge_endpoint_with_defaults(**chosen)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return attrs


class JudgeJobCreateSerializer(JudgeEndpointSerializer):
    name = serializers.CharField(max_length=200)
    response_set = serializers.IntegerField(min_value=1, max_value=2**62)
    criteria_set = serializers.SlugField(
        max_length=64, help_text="Key of a criteria set (its current version)."
    )
    personas = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        min_length=1,
        max_length=MAX_PERSONAS,
        help_text="Judge persona ids.",
    )
    split = serializers.ChoiceField(choices=SplitScope.choices, default=SplitScope.ALL)
    max_questions = serializers.IntegerField(
        min_value=1, max_value=10_000_000, required=False, allow_null=True
    )
    shuffle_responses = serializers.BooleanField(default=False)


def _judge_job(pk: int) -> JudgeJob:
    judge_job = JudgeJob.objects.filter(pk=pk).first()
    if judge_job is None:
        raise Http404("No such judge job.")
    return judge_job


def _detail(pk: int) -> dict:
    return JudgeJobSerializer(judge_jobs_list().get(pk=pk)).data


class JudgeJobListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = JudgeJobSerializer

    def get_queryset(self):
        return judge_jobs_list()

    @extend_schema(
        summary="Create a persona judge job and queue it (the API key comes from the server's settings)",
        request=JudgeJobCreateSerializer,
        responses={201: JudgeJobSerializer},
    )
    def post(self, request):
        serializer = JudgeJobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        response_set = ResponseSet.objects.filter(pk=data.pop("response_set")).first()
        criteria_set = CriteriaSet.objects.filter(key=data.pop("criteria_set"), is_current=True).first()
        persona_ids = set(data.pop("personas"))
        personas = list(personas_list().filter(pk__in=persona_ids))
        withdrawn = sorted(p.pk for p in personas if p.withdrawn_at is not None)
        errors = {}
        if response_set is None:
            errors["response_set"] = ["No such response set."]
        if criteria_set is None:
            errors["criteria_set"] = ["No such criteria set."]
        if len(personas) != len(persona_ids):
            errors["personas"] = ["Unknown persona ids."]
        elif withdrawn:
            errors["personas"] = [
                f"Personas {', '.join(map(str, withdrawn))} were withdrawn by their survey participants."
            ]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        judge_job = judge_job_create(
            response_set=response_set,
            criteria_set=criteria_set,
            personas=personas,
            created_by=request.user,
            **data,
        )
        return Response(_detail(judge_job.pk), status=status.HTTP_201_CREATED)


class JudgeJobDetailApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(summary="A judge job with its progress", responses=JudgeJobSerializer)
    def get(self, request, pk: int):
        return Response(_detail(_judge_job(pk).pk))


class JudgeJobLaunchApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Run the job again: skips everything already judged (no-op while it runs)",
        request=None,
        responses={202: JudgeJobSerializer},
    )
    def post(self, request, pk: int):
        judge_job = _judge_job(pk)
        judge_job_launch(judge_job=judge_job, actor=request.user)
        return Response(_detail(judge_job.pk), status=status.HTTP_202_ACCEPTED)


class JudgeJobCancelApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(summary="Cancel the running execution", request=None, responses={200: JudgeJobSerializer})
    def post(self, request, pk: int):
        judge_job = _judge_job(pk)
        if not judge_job_cancel(judge_job=judge_job, actor=request.user):
            return Response({"detail": "The job is not running."}, status=status.HTTP_409_CONFLICT)
        return Response(_detail(judge_job.pk))
