"""Researcher API for training runs (the worker API is in worker_api.py)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import DatasetSnapshot
from core.api import StrictSerializer
from core.permissions import IsResearcher
from training_worker.launch import METHOD_FIELDS, LaunchError, LaunchRequest, training_run_launch
from training_worker.models import RunEvent, TrainingRun
from training_worker.selectors import run_events, runs_list
from training_worker.services import training_run_cancel


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
        after = int(raw) if raw.lstrip("-").isdigit() and len(raw) < 12 else -1
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
    base_model = serializers.CharField(max_length=1000, required=False, default="")
    parent_policy = serializers.IntegerField(min_value=1, max_value=2**62, required=False)
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
        parent = _runs([data["parent_policy"]], "parent_policy")[0] if data.get("parent_policy") else None
        launch = LaunchRequest(
            name=data["name"],
            method=data["method"],
            snapshot=snapshot,
            criterion=data["criterion"],
            weights=data["weights"],
            base_model=data["base_model"],
            parent_policy=parent,
            margin_reward_runs=_runs(data["margin_reward_runs"], "margin_reward_runs"),
            merge_runs=_runs(data["merge_runs"], "merge_runs"),
            merge_method=data["merge_method"],
            hyper=data["hyper"],
        )
        run = training_run_launch(request=launch, created_by=request.user)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)
