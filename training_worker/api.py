"""Researcher API for training runs (the worker API is in worker_api.py)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import IsResearcher
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
