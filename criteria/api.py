"""Criteria-set API: every role may read; researchers publish new versions."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictSerializer
from core.permissions import IsResearcher, IsStaffRole
from criteria.models import CriteriaSet
from criteria.selectors import criteria_set_get, criteria_sets_current
from criteria.services import criteria_set_new_version


class CriterionSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=120)
    question = serializers.CharField(max_length=2000)
    better_when = serializers.CharField(max_length=2000)
    worse_when = serializers.CharField(max_length=2000)


class CriterionInSerializer(StrictSerializer, CriterionSerializer):
    pass


class CriteriaSetSerializer(serializers.ModelSerializer):
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = CriteriaSet
        fields = ["key", "version", "name", "description", "is_current", "created_at", "criteria"]


class CriteriaSetVersionInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    criteria = CriterionInSerializer(many=True, min_length=1, max_length=50)


def _current_or_404(key: str, version: int | None = None) -> CriteriaSet:
    try:
        return criteria_set_get(key=key, version=version)
    except CriteriaSet.DoesNotExist as exc:
        raise Http404("No such criteria set.") from exc


class CriteriaSetListApi(ListAPIView):
    permission_classes = [IsStaffRole]
    serializer_class = CriteriaSetSerializer
    pagination_class = None

    def get_queryset(self):
        return criteria_sets_current()


class CriteriaSetDetailApi(APIView):
    permission_classes = [IsStaffRole]

    @extend_schema(responses=CriteriaSetSerializer)
    def get(self, request, key: str):
        return Response(CriteriaSetSerializer(_current_or_404(key)).data)


class CriteriaSetVersionCreateApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(request=CriteriaSetVersionInSerializer, responses={201: CriteriaSetSerializer})
    def post(self, request, key: str):
        current = _current_or_404(key)
        serializer = CriteriaSetVersionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new_set = criteria_set_new_version(
            criteria_set=current,
            criteria=data["criteria"],
            actor=request.user,
            name=data.get("name"),
            description=data.get("description"),
        )
        return Response(CriteriaSetSerializer(new_set).data, status=status.HTTP_201_CREATED)
