"""Researcher API for clinician studies: list, create and assign, progress, close, unblind, results."""

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import ResponseSet, SplitScope
from core.api import StrictSerializer
from core.permissions import IsResearcher
from criteria.models import CriteriaSet
from evaluation.models import ClinicianStudy, Evaluation, Side
from evaluation.selectors.studies import (
    studies_list,
    study_progress,
    study_provenance,
    study_results,
)
from evaluation.services.studies import (
    MAX_SCENARIOS,
    clinician_study_close,
    clinician_study_create,
    clinician_study_unblind,
)

ID = {"min_value": 1, "max_value": 2**62}


class StudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    clinician_title = serializers.CharField()
    state = serializers.CharField()
    criteria_set = serializers.CharField(source="criteria_set.key")
    response_set_a = serializers.IntegerField(source="response_set_a_id")
    response_set_b = serializers.IntegerField(source="response_set_b_id")
    label_a = serializers.CharField()
    label_b = serializers.CharField()
    raters_per_item = serializers.IntegerField()
    n_items = serializers.IntegerField()
    n_assignments = serializers.IntegerField()
    n_submitted = serializers.IntegerField()
    unblinded_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ClinicianProgressSerializer(serializers.Serializer):
    clinician = serializers.CharField()
    assigned = serializers.IntegerField()
    submitted = serializers.IntegerField()
    flagged = serializers.IntegerField()
    guessed = serializers.IntegerField()


class StudyDetailSerializer(StudySerializer):
    progress = ClinicianProgressSerializer(many=True)


class StudyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, help_text="For researchers only.")
    clinician_title = serializers.CharField(max_length=200, default="Response comparison study")
    instructions = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    criteria_set = serializers.SlugField(max_length=64, default="therapeutic_eval")
    response_set_a = serializers.IntegerField(**ID)
    response_set_b = serializers.IntegerField(**ID)
    label_a = serializers.CharField(max_length=120)
    label_b = serializers.CharField(max_length=120)
    clinicians = serializers.ListField(child=serializers.IntegerField(**ID), min_length=2, max_length=200)
    n_scenarios = serializers.IntegerField(min_value=1, max_value=MAX_SCENARIOS, default=100)
    raters_per_item = serializers.IntegerField(min_value=2, max_value=200, default=2)
    calibration_items = serializers.IntegerField(min_value=0, max_value=MAX_SCENARIOS, default=0)
    split = serializers.ChoiceField(choices=SplitScope.choices, default=SplitScope.TEST)
    response_index = serializers.IntegerField(min_value=0, max_value=999, default=0)
    trained_model = serializers.ChoiceField(choices=[("", "unspecified"), *Side.choices], default="")
    ask_blinding_guess = serializers.BooleanField(default=False)
    judge_evaluation = serializers.IntegerField(**ID, required=False, allow_null=True)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


class UnblindSerializer(StrictSerializer):
    confirm = serializers.BooleanField(help_text="Must be true: unblinding is recorded in the audit log.")


def _study(pk: int) -> ClinicianStudy:
    study = studies_list().filter(pk=pk).first()
    if study is None:
        raise Http404("No such clinician study.")
    return study


def _detail(pk: int) -> dict:
    study = _study(pk)
    study.progress = study_progress(study=study)
    return StudyDetailSerializer(study).data


class StudyListApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(summary="Clinician studies, newest first", responses=StudySerializer(many=True))
    def get(self, request):
        return Response(StudySerializer(studies_list()[:200], many=True).data)

    @extend_schema(
        summary="Create a blinded clinician study and assign its items",
        request=StudyCreateSerializer,
        responses={201: StudyDetailSerializer},
    )
    def post(self, request):
        serializer = StudyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        errors: dict[str, list[str]] = {}
        data["criteria_set"] = CriteriaSet.objects.filter(key=data["criteria_set"], is_current=True).first()
        for field in ("response_set_a", "response_set_b"):
            data[field] = ResponseSet.objects.filter(pk=data[field]).first()
        evaluation_id = data.pop("judge_evaluation", None)
        data["judge_evaluation"] = (
            Evaluation.objects.filter(pk=evaluation_id).first() if evaluation_id else None
        )
        clinician_ids = set(data["clinicians"])
        data["clinicians"] = list(get_user_model().objects.filter(pk__in=clinician_ids))
        for field in ("criteria_set", "response_set_a", "response_set_b"):
            if data[field] is None:
                errors[field] = ["Not found."]
        if evaluation_id and data["judge_evaluation"] is None:
            errors["judge_evaluation"] = ["Not found."]
        if len(data["clinicians"]) != len(clinician_ids):
            errors["clinicians"] = ["Unknown user ids."]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        study = clinician_study_create(created_by=request.user, **data)
        return Response(_detail(study.pk), status=status.HTTP_201_CREATED)


class StudyDetailApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="A study and each clinician's progress (no ratings)", responses=StudyDetailSerializer
    )
    def get(self, request, pk: int):
        return Response(_detail(pk))


class StudyCloseApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Close the study: ratings can no longer change", request=None, responses=StudyDetailSerializer
    )
    def post(self, request, pk: int):
        clinician_study_close(study=_study(pk), actor=request.user)
        return Response(_detail(pk))


class StudyUnblindApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Unblind a closed study (audit-logged); its results become available",
        request=UnblindSerializer,
        responses=StudyDetailSerializer,
    )
    def post(self, request, pk: int):
        study = _study(pk)
        serializer = UnblindSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not serializer.validated_data["confirm"]:
            return Response({"confirm": ["Must be true."]}, status=status.HTTP_400_BAD_REQUEST)
        clinician_study_unblind(study=study, actor=request.user, request=request)
        return Response(_detail(pk))


class StudyResultsApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        summary="Agreement, judge agreement, position balance, win rates, blinding index (after unblinding)",
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        study = _study(pk)
        if not study.is_unblinded:
            return Response(
                {"detail": "The study is still blinded; close and unblind it first."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response({"provenance": study_provenance(study=study), "results": study_results(study=study)})
