"""Researcher API for training runs, the model registry and picker, and generation (the worker API is in
worker_api.py)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import DatasetSnapshot, Split
from core.api import StrictSerializer
from core.permissions import IsResearcher
from training_worker.base_models import base_model_register
from training_worker.generation.services import GenerationError, response_set_generate
from training_worker.launch import METHOD_FIELDS, LaunchError, LaunchRequest, training_run_launch
from training_worker.model_picker import (
    ModelChoice,
    model_choice_from_path,
    model_choice_resolve,
    model_options,
)
from training_worker.models import BaseModel, RunEvent, TrainingRun
from training_worker.selectors import run_events, runs_list
from training_worker.services import training_run_cancel

MODEL_VALUE = r"^(base|run):[0-9]{1,18}$"


class RunSerializer(serializers.ModelSerializer):
    parents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "name",
            "method",
            "status",
            "config",
            "step",
            "total_steps",
            "last_metrics",
            "result",
            "error",
            "code_version",
            "snapshot_hash",
            "attempts",
            "parents",
            "base_model",
            "created_at",
            "started_at",
            "finished_at",
        ]


class RunEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunEvent
        fields = ["step", "total_steps", "metrics", "created_at"]


class RunListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = RunSerializer

    @extend_schema(parameters=[OpenApiParameter("status", str), OpenApiParameter("method", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return runs_list(
            status=self.request.query_params.get("status"), method=self.request.query_params.get("method")
        )


class RunDetailApi(RetrieveAPIView):
    permission_classes = [IsResearcher]
    serializer_class = RunSerializer
    queryset = TrainingRun.objects.prefetch_related("parents")


class RunEventsApi(ListAPIView):
    """Progress events after a step, for live charts (poll with ?after=<last step seen>)."""

    permission_classes = [IsResearcher]
    serializer_class = RunEventSerializer
    pagination_class = None

    @extend_schema(parameters=[OpenApiParameter("after", int, description="Only events after this step.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        run = get_object_or_404(TrainingRun, pk=self.kwargs["pk"])
        raw = self.request.query_params.get("after", "-1")
        after = int(raw) if raw.lstrip("-").isdecimal() and len(raw) < 12 else -1
        return run_events(run=run, after_step=after)[:5000]


class RunCancelApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses={200: RunSerializer, 409: None})
    def post(self, request, pk: int):
        run = get_object_or_404(TrainingRun, pk=pk)
        if not training_run_cancel(run=run, actor=request.user):
            return Response({"detail": "This run has already ended."}, status=status.HTTP_409_CONFLICT)
        run.refresh_from_db()
        return Response(RunSerializer(run).data)


class LaunchInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    method = serializers.ChoiceField(choices=sorted(METHOD_FIELDS))
    snapshot = serializers.RegexField(r"^[0-9a-f]{64}$", required=False, help_text="Snapshot content hash.")
    criterion = serializers.SlugField(max_length=64, required=False, default="")
    weights = serializers.DictField(child=serializers.FloatField(), required=False, default=dict)
    model = serializers.RegexField(
        MODEL_VALUE,
        required=False,
        help_text="The starting model, as the model picker gives it: base:<model id> or run:<policy run id>.",
    )
    base_model = serializers.CharField(
        max_length=1000, required=False, default="", help_text="Or: the path of a registered base model."
    )
    parent_policy = serializers.IntegerField(
        min_value=1, max_value=2**62, required=False, help_text="Or: a policy run's id (as run:<id>)."
    )
    margin_reward_runs = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        default=list,
        max_length=20,
    )
    merge_runs = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        default=list,
        max_length=20,
    )
    merge_method = serializers.ChoiceField(choices=["linear", "slerp"], required=False, default="linear")
    hyper = serializers.DictField(required=False, default=dict, help_text="Method hyper-parameters.")

    def validate(self, attrs):
        given = [name for name in ("model", "base_model", "parent_policy") if attrs.get(name)]
        if len(given) > 1:
            raise serializers.ValidationError({given[1]: [f"Give only one of {', '.join(given)}."]})
        allowed = set(METHOD_FIELDS[attrs["method"]])
        unknown = sorted(set(attrs["hyper"]) - allowed)
        if unknown:
            raise serializers.ValidationError(
                {"hyper": [f"Not a {attrs['method']} setting: {', '.join(unknown)}."]}
            )
        for key, value in attrs["hyper"].items():
            if key == "backbone":
                valid = isinstance(value, str)
            elif key == "merge_weights":
                valid = isinstance(value, list) and all(_is_number(item) for item in value)
            else:
                valid = _is_number(value)
            if not valid:
                raise serializers.ValidationError({"hyper": [f"{key} has the wrong type."]})
        return attrs


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _model_choice(data: dict) -> ModelChoice | None:
    """The starting model, from `model` or the older `base_model` path / `parent_policy` id."""
    if data.get("model"):
        return model_choice_resolve(data["model"])
    if data.get("parent_policy"):
        return model_choice_resolve(f"run:{data['parent_policy']}", field="parent_policy")
    if data.get("base_model"):
        return model_choice_from_path(data["base_model"])
    return None


def _runs(ids: list[int], field: str) -> list[TrainingRun]:
    runs = {run.pk: run for run in TrainingRun.objects.filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in runs]
    if missing:
        raise LaunchError(field_errors={field: f"No such runs: {missing}."})
    return [runs[pk] for pk in ids]


class RunLaunchApi(APIView):
    """Launch a run; everything is validated before anything is queued (400 with field errors)."""

    permission_classes = [IsResearcher]

    @extend_schema(request=LaunchInSerializer, responses={201: RunSerializer})
    def post(self, request):
        serializer = LaunchInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        snapshot = None
        if data.get("snapshot"):
            snapshot = DatasetSnapshot.objects.filter(content_hash=data["snapshot"]).first()
            if snapshot is None:
                raise LaunchError(field_errors={"snapshot": "No snapshot has this content hash."})
        launch = LaunchRequest(
            name=data["name"],
            method=data["method"],
            snapshot=snapshot,
            criterion=data["criterion"],
            weights=data["weights"],
            model=_model_choice(data),
            margin_reward_runs=_runs(data["margin_reward_runs"], "margin_reward_runs"),
            merge_runs=_runs(data["merge_runs"], "merge_runs"),
            merge_method=data["merge_method"],
            hyper=data["hyper"],
        )
        run = training_run_launch(request=launch, created_by=request.user)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class BaseModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = BaseModel
        fields = ["id", "name", "path", "kind", "notes", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class BaseModelInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    path = serializers.CharField(max_length=1000, help_text="Directory on the GPU workers, or a hub id.")
    kind = serializers.ChoiceField(choices=BaseModel.Kind.choices, default=BaseModel.Kind.CAUSAL_LM)
    notes = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class BaseModelListApi(APIView):
    """The model registry: registered starting models, and registering one (audit-logged)."""

    permission_classes = [IsResearcher]

    @extend_schema(responses=BaseModelSerializer(many=True), summary="Registered base models")
    def get(self, request):
        return Response(BaseModelSerializer(BaseModel.objects.order_by("kind", "name"), many=True).data)

    @extend_schema(request=BaseModelInSerializer, responses={201: BaseModelSerializer})
    def post(self, request):
        serializer = BaseModelInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        model = base_model_register(created_by=request.user, **serializer.validated_data)
        return Response(BaseModelSerializer(model).data, status=status.HTTP_201_CREATED)


class ModelChoiceSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="base:<id> or run:<id>, as `model` takes it.")
    label = serializers.CharField()
    group = serializers.CharField()


class ModelChoicesApi(APIView):
    """What the model picker offers: registered causal LMs and succeeded runs' policies."""

    permission_classes = [IsResearcher]

    @extend_schema(responses=ModelChoiceSerializer(many=True), summary="The model picker's choices")
    def get(self, request):
        rows = [
            {"value": value, "label": label, "group": group}
            for group, options in model_options()
            for value, label in options
        ]
        return Response(ModelChoiceSerializer(rows, many=True).data)


class GenerationInSerializer(StrictSerializer):
    snapshot = serializers.RegexField(r"^[0-9a-f]{64}$", help_text="Content hash of a frozen snapshot.")
    split = serializers.ChoiceField(choices=Split.choices, default=Split.TEST)
    name = serializers.CharField(max_length=200, help_text="Name of the new response set.")
    model = serializers.RegexField(
        MODEL_VALUE, help_text="base:<registered model id> or run:<policy run id>."
    )
    num_responses = serializers.IntegerField(min_value=1, max_value=20, default=5)
    temperature = serializers.FloatField(min_value=0, max_value=2, default=0.8)
    top_p = serializers.FloatField(min_value=0.01, max_value=1, default=1.0)
    max_new_tokens = serializers.IntegerField(min_value=1, max_value=8192, default=256)
    batch_size = serializers.IntegerField(min_value=1, max_value=512, default=8)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    max_questions = serializers.IntegerField(
        min_value=1, max_value=10_000_000, required=False, allow_null=True
    )


class GenerationOutSerializer(serializers.Serializer):
    response_set = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    state = serializers.CharField()
    source = serializers.CharField()
    run = RunSerializer(source="training_run")


class GenerationApi(APIView):
    """Answer a snapshot split's questions with a picked model; the response set fills when the run ends."""

    permission_classes = [IsResearcher]

    @extend_schema(request=GenerationInSerializer, responses={201: GenerationOutSerializer})
    def post(self, request):
        serializer = GenerationInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        snapshot = DatasetSnapshot.objects.filter(content_hash=data.pop("snapshot")).first()
        if snapshot is None:
            raise GenerationError(field_errors={"snapshot": "No snapshot has this content hash."})
        model = model_choice_resolve(data.pop("model"))
        response_set = response_set_generate(snapshot=snapshot, model=model, created_by=request.user, **data)
        return Response(GenerationOutSerializer(response_set).data, status=status.HTTP_201_CREATED)
