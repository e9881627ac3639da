"""Researcher API for pipelines: validate a plan, start it on a snapshot, its status, retry, cancel."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import DatasetSnapshot
from core.api import StrictSerializer
from core.permissions import IsResearcher
from pipelines.models import PipelineRun
from pipelines.selectors import pipeline_status, pipelines_list
from pipelines.services.engine import pipeline_cancel, pipeline_start, plan_store, plan_validate, step_retry
from pipelines.views import bundle_response

PLAN = serializers.CharField(max_length=200_000, help_text="The plan's YAML text (docs/pipelines.md).")


class PlanSerializer(StrictSerializer):
    plan = PLAN


class PipelineStartSerializer(StrictSerializer):
    plan = PLAN
    snapshot = serializers.CharField(max_length=64, help_text="Content hash of a frozen dataset snapshot.")
    models = serializers.DictField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Model role -> name of a registered model, overriding the plan's.",
    )


class StepRetrySerializer(StrictSerializer):
    step = serializers.CharField(max_length=200, help_text="Name of a failed or cancelled step.")


def _pipeline(pk: int) -> PipelineRun:
    pipeline = pipelines_list().filter(pk=pk).first()
    if pipeline is None:
        raise Http404("No such pipeline.")
    return pipeline


class PlanValidateApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Check a plan: its expanded steps, or 400 with one message per problem under `plan`",
        request=PlanSerializer,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        serializer = PlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = plan_validate(text=serializer.validated_data["plan"])
        steps = [
            {"name": step.name, "method": step.method, "inputs": list(step.inputs)} for step in plan.steps
        ]
        return Response({"valid": True, "name": plan.name, "steps": steps})


class PipelineListApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Pipelines, newest first", operation_id="pipelines_list", responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request):
        return Response([pipeline_status(pipeline) for pipeline in pipelines_list()[:50]])

    @extend_schema(
        summary="Store the plan and start it on a snapshot (its first steps are launched at once)",
        request=PipelineStartSerializer,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        serializer = PipelineStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        snapshot = DatasetSnapshot.objects.filter(content_hash=data["snapshot"].strip()).first()
        if snapshot is None:
            return Response({"snapshot": ["No frozen snapshot has this hash."]}, status=400)
        plan = plan_store(text=data["plan"], created_by=request.user)
        pipeline = pipeline_start(
            plan=plan, snapshot=snapshot, created_by=request.user, models=data.get("models") or {}
        )
        return Response(pipeline_status(pipeline), status=status.HTTP_201_CREATED)


class PipelineDetailApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="A pipeline with every step's state, duration and output", responses=OpenApiTypes.OBJECT
    )
    def get(self, request, pk: int):
        return Response(pipeline_status(_pipeline(pk)))


class PipelineBundleApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="The study bundle (zip): plan, snapshot manifest, runs and artifact hashes, results, figures",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int):
        return bundle_response(pipeline=_pipeline(pk), actor=request.user)


class PipelineCancelApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Cancel the pipeline and its running work", request=None, responses=OpenApiTypes.OBJECT
    )
    def post(self, request, pk: int):
        pipeline = _pipeline(pk)
        if not pipeline_cancel(pipeline=pipeline, actor=request.user):
            return Response({"detail": "The pipeline has already ended."}, status=status.HTTP_409_CONFLICT)
        return Response(pipeline_status(_pipeline(pk)))


class StepRetryApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Launch a failed or cancelled step again with the same inputs",
        request=StepRetrySerializer,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, pk: int):
        pipeline = _pipeline(pk)
        serializer = StepRetrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step_retry(pipeline=pipeline, name=serializer.validated_data["step"], actor=request.user)
        return Response(pipeline_status(_pipeline(pk)))
