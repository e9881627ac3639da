"""Researcher API for dataset snapshots: list, read the manifest, freeze a new one (as a background job)."""

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import DatasetSnapshot, JudgeJob, RankingCampaign, ResponseSet, SplitScope
from annotation.selectors.snapshots import snapshots_list
from annotation.services.snapshots import (
    PAIR_STRATEGIES,
    snapshot_freeze_launch,
    snapshot_spec_build,
)
from core.api import StrictSerializer
from core.permissions import IsResearcher
from criteria.models import CriteriaSet

MAX_SOURCES = 200


class SnapshotSerializer(serializers.ModelSerializer):
    criteria_set = serializers.CharField(source="criteria_set.key")
    criteria_set_version = serializers.IntegerField(source="criteria_set.version")
    response_set = serializers.PrimaryKeyRelatedField(read_only=True)
    counts = serializers.JSONField(source="manifest.counts")

    class Meta:
        model = DatasetSnapshot
        fields = [
            "id",
            "name",
            "content_hash",
            "criteria_set",
            "criteria_set_version",
            "response_set",
            "configuration",
            "counts",
            "archive_sha256",
            "archive_size",
            "created_at",
        ]


class SnapshotDetailSerializer(SnapshotSerializer):
    class Meta(SnapshotSerializer.Meta):
        fields = [*SnapshotSerializer.Meta.fields, "manifest"]


class SnapshotFreezeSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    response_set = serializers.IntegerField(min_value=1, max_value=2**62)
    criteria_set = serializers.SlugField(max_length=64)
    criteria_set_version = serializers.IntegerField(min_value=1, max_value=2**31, required=False)
    judge_jobs = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), max_length=MAX_SOURCES, default=list
    )
    campaigns = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62), max_length=MAX_SOURCES, default=list
    )
    split = serializers.ChoiceField(choices=SplitScope.choices, default=SplitScope.ALL)
    pair_strategy = serializers.ChoiceField(choices=PAIR_STRATEGIES, default="best_worst")
    min_margin = serializers.FloatField(min_value=0.0, max_value=1e9, default=0.0)
    objective_weights = serializers.DictField(
        child=serializers.FloatField(min_value=0.0, max_value=1e9), required=False, default=dict
    )
    weights_source = serializers.CharField(max_length=100, default="manual")
    include_free_text = serializers.BooleanField(default=False)


class FreezeAcceptedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status_url = serializers.CharField()


class SnapshotListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = SnapshotSerializer

    def get_queryset(self):
        return snapshots_list()

    @extend_schema(
        summary="Freeze a snapshot (runs as a background job; same data gives the same snapshot)",
        request=SnapshotFreezeSerializer,
        responses={202: FreezeAcceptedSerializer},
    )
    def post(self, request):
        serializer = SnapshotFreezeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        response_set = ResponseSet.objects.filter(pk=data["response_set"]).first()
        sets = CriteriaSet.objects.filter(key=data["criteria_set"])
        criteria_set = (
            sets.filter(version=data["criteria_set_version"])
            if "criteria_set_version" in data
            else sets.filter(is_current=True)
        ).first()
        judge_jobs = list(JudgeJob.objects.filter(pk__in=data["judge_jobs"]).select_related("criteria_set"))
        campaigns = list(
            RankingCampaign.objects.filter(pk__in=data["campaigns"]).select_related("criteria_set")
        )
        errors = {}
        if response_set is None:
            errors["response_set"] = ["No such response set."]
        if criteria_set is None:
            errors["criteria_set"] = ["No such criteria set (version)."]
        if len(judge_jobs) != len(set(data["judge_jobs"])):
            errors["judge_jobs"] = ["Unknown judge job ids."]
        if len(campaigns) != len(set(data["campaigns"])):
            errors["campaigns"] = ["Unknown campaign ids."]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        spec = snapshot_spec_build(
            response_set=response_set,
            criteria_set=criteria_set,
            judge_jobs=judge_jobs,
            campaigns=campaigns,
            split=data["split"],
            pair_strategy=data["pair_strategy"],
            min_margin=data["min_margin"],
            objective_weights=data["objective_weights"],
            weights_source=data["weights_source"],
            include_free_text=data["include_free_text"],
        )
        job = snapshot_freeze_launch(name=data["name"], spec=spec, created_by=request.user)
        return Response(
            {"job": job.pk, "status_url": reverse("api-job-status", args=[job.pk])},
            status=status.HTTP_202_ACCEPTED,
        )


class SnapshotDetailApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(summary="A snapshot with its full manifest", responses=SnapshotDetailSerializer)
    def get(self, request, pk: int):
        snapshot = snapshots_list().filter(pk=pk).first()
        if snapshot is None:
            raise Http404("No such snapshot.")
        return Response(SnapshotDetailSerializer(snapshot).data)
