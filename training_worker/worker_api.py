"""The worker API: everything a GPU worker reads and posts, scoped by its run token."""

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictSerializer
from core.models import Status
from training_worker.models import TrainingRun
from training_worker.services import (
    artifact_size_check,
    run_artifact_store,
    run_event_record,
    run_heartbeat,
    run_result_record,
    run_start,
)
from training_worker.worker_auth import IsWorkerForThisRun, RunTokenAuthentication

MAX_METRICS_KEYS = 200
MAX_STEP = 2**31 - 1  # PositiveIntegerField range
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the name and sha256 fields of an upload


def _validate_metrics(value: dict) -> dict:
    if len(value) > MAX_METRICS_KEYS:
        raise serializers.ValidationError(f"At most {MAX_METRICS_KEYS} metrics.")
    for key, number in value.items():
        if not isinstance(number, int | float | str | bool | None) or len(str(key)) > 100:
            raise serializers.ValidationError(f"Metric {key!r} must be a scalar with a short name.")
    return value


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


# The body of a refusal that names no field (409 conflict, 413 too large).
DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})


class WorkerApi(APIView):
    authentication_classes = [RunTokenAuthentication]
    permission_classes = [IsWorkerForThisRun]

    def run(self) -> TrainingRun:
        return get_object_or_404(TrainingRun, pk=self.kwargs["run_id"])


class InputSerializer(serializers.Serializer):
    name = serializers.CharField()
    sha256 = serializers.CharField()
    url = serializers.CharField()


class RunSpecSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    name = serializers.CharField()
    method = serializers.CharField()
    status = serializers.CharField()
    config = serializers.JSONField()
    step = serializers.IntegerField()
    attempts = serializers.IntegerField()
    inputs = InputSerializer(many=True)
    parents = serializers.ListField(child=serializers.IntegerField())


class RunSpecApi(WorkerApi):
    @extend_schema(responses=RunSpecSerializer, summary="The run's method, configuration and inputs")
    def get(self, request, run_id: int):
        run = self.run()
        spec = {
            "run_id": run.pk,
            "name": run.name,
            "method": run.method,
            "status": run.status,
            "config": run.config,
            "step": run.step,
            "attempts": run.attempts,
            "inputs": [
                {
                    "name": item.name,
                    "sha256": item.sha256,
                    "url": request.build_absolute_uri(f"/api/worker/runs/{run.pk}/inputs/{item.pk}/"),
                }
                for item in run.inputs.all()
            ],
            "parents": list(run.parents.values_list("pk", flat=True)),
        }
        return Response(RunSpecSerializer(spec).data)


class RunInputDownloadApi(WorkerApi):
    @extend_schema(responses={(200, "application/octet-stream"): bytes}, summary="Download one input file")
    def get(self, request, run_id: int, input_id: int):
        item = get_object_or_404(self.run().inputs, pk=input_id)
        return FileResponse(item.file.open("rb"), as_attachment=True, filename=f"input-{item.pk}")


class RunStartSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    status = serializers.CharField()
    step = serializers.IntegerField()
    attempts = serializers.IntegerField()
    heartbeat_interval_s = serializers.IntegerField(help_text="Post a heartbeat at least this often.")


class RunStartApi(WorkerApi):
    @extend_schema(
        request=None,
        responses={200: RunStartSerializer, 409: DETAIL},
        summary="Claim the run (a redelivered task resumes it once the previous worker went silent)",
        description="409 with a Retry-After header while another worker holds the run and is alive.",
    )
    def post(self, request, run_id: int):
        run = run_start(run=self.run())
        body = {
            "run_id": run.pk,
            "status": run.status,
            "step": run.step,
            "attempts": run.attempts,
            "heartbeat_interval_s": settings.WORK_HEARTBEAT_INTERVAL_S,
        }
        return Response(RunStartSerializer(body).data)


class RunHeartbeatApi(WorkerApi):
    @extend_schema(
        request=None,
        responses={200: DETAIL, 409: DETAIL},
        summary="The worker is alive (without heartbeats the reaper requeues the run)",
    )
    def post(self, request, run_id: int):
        run_heartbeat(run=self.run())
        return Response({"detail": "ok"})


class EventInSerializer(StrictSerializer):
    event_id = serializers.CharField(max_length=100, help_text="Idempotency key chosen by the worker.")
    step = serializers.IntegerField(min_value=0, max_value=MAX_STEP)
    total_steps = serializers.IntegerField(min_value=0, max_value=MAX_STEP, required=False, default=0)
    metrics = serializers.DictField(required=False, default=dict, validators=[_validate_metrics])


class EventOutSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    step = serializers.IntegerField()
    created = serializers.BooleanField()


class RunEventApi(WorkerApi):
    @extend_schema(request=EventInSerializer, responses={200: EventOutSerializer, 201: EventOutSerializer})
    def post(self, request, run_id: int):
        serializer = EventInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event, created = run_event_record(run=self.run(), **serializer.validated_data)
        body = {"event_id": event.event_id, "step": event.step, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ArtifactInSerializer(StrictSerializer):
    name = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$")
    file = serializers.FileField()


class ArtifactOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    created = serializers.BooleanField()


class RunArtifactApi(WorkerApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=ArtifactInSerializer,
        responses={200: ArtifactOutSerializer, 201: ArtifactOutSerializer, 409: DETAIL, 413: DETAIL},
    )
    def post(self, request, run_id: int):
        # Refused from the declared length before the body is parsed (and spooled to disk); the service
        # checks the file's own size after, the length of a multipart body being only an upper bound.
        artifact_size_check(size=max(0, _declared_length(request) - MULTIPART_OVERHEAD))
        serializer = ArtifactInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        artifact, created = run_artifact_store(
            run=self.run(), name=data["name"], upload=data["file"], sha256=data["sha256"]
        )
        body = {"name": artifact.name, "sha256": artifact.sha256, "size": artifact.size, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ResultInSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=[Status.SUCCEEDED, Status.FAILED, Status.CANCELLED])
    metrics = serializers.DictField(required=False, default=dict)
    error = serializers.CharField(required=False, default="", allow_blank=True, max_length=20000)
    code_version = serializers.CharField(required=False, default="", allow_blank=True, max_length=64)


class ResultOutSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    status = serializers.CharField()
    created = serializers.BooleanField()


class RunResultApi(WorkerApi):
    accepts_ended_runs = True  # a worker that lost the response may replay its result

    @extend_schema(
        request=ResultInSerializer,
        responses={200: ResultOutSerializer, 201: ResultOutSerializer, 409: DETAIL},
    )
    def post(self, request, run_id: int):
        serializer = ResultInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, created = run_result_record(run=self.run(), **serializer.validated_data)
        body = {"run_id": run.pk, "status": run.status, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
