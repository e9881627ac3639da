"""Clinician API: their own items (blinded) and rating submission.

Items are addressed by random tokens. Checks run in this order: unknown token 404, someone else's item 403,
closed study 409, invalid input (a choice outside A/B/tie, a criterion outside the study) 400.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictSerializer
from core.permissions import IsClinician
from evaluation.models import StudyAssignment, StudyRating
from evaluation.selectors.studies import assignment_display, clinician_queue
from evaluation.services.studies import (
    MAX_COMMENT_CHARS,
    study_rating_submit,
)


class ClinicianStudySerializer(serializers.Serializer):
    token = serializers.CharField()
    title = serializers.CharField()
    is_open = serializers.BooleanField()
    total = serializers.IntegerField()
    done = serializers.IntegerField(help_text="Items submitted.")
    skipped = serializers.IntegerField(help_text="Items skipped (and not submitted since).")
    to_do = serializers.IntegerField(help_text="Items neither submitted nor skipped.")
    percent = serializers.IntegerField()
    next_token = serializers.CharField(allow_null=True)
    guess_pending = serializers.BooleanField()


class CriterionChoiceSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    question = serializers.CharField()
    choice = serializers.CharField(help_text="Your current choice: A, B, tie, or empty.")


class ClinicianItemSerializer(serializers.Serializer):
    token = serializers.CharField()
    study_token = serializers.CharField()
    title = serializers.CharField()
    instructions = serializers.CharField()
    is_open = serializers.BooleanField()
    number = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    previous_token = serializers.CharField(allow_null=True)
    next_token = serializers.CharField(allow_null=True)
    next_pending_token = serializers.CharField(allow_null=True)
    scenario = serializers.CharField()
    response_a = serializers.CharField(help_text="The response shown as Response A.")
    response_b = serializers.CharField(help_text="The response shown as Response B.")
    criteria = CriterionChoiceSerializer(many=True)
    comment = serializers.CharField()
    flagged_unsafe = serializers.BooleanField()
    flag_note = serializers.CharField()
    submitted = serializers.BooleanField()
    skipped = serializers.BooleanField()


class RatingSubmitSerializer(StrictSerializer):
    ratings = serializers.DictField(
        child=serializers.ChoiceField(choices=StudyRating.Choice.choices),
        help_text="{criterion key: 'A' | 'B' | 'tie'} (A and B as displayed to you).",
    )
    complete = serializers.BooleanField(
        default=False, help_text="True submits the item (every criterion must then be answered)."
    )
    comment = serializers.CharField(max_length=MAX_COMMENT_CHARS, required=False, allow_blank=True)
    flagged_unsafe = serializers.BooleanField(required=False)
    flag_note = serializers.CharField(max_length=MAX_COMMENT_CHARS, required=False, allow_blank=True)


def _own(token: str, user) -> StudyAssignment:
    assignment = (
        StudyAssignment.objects.select_related(
            "item__study__criteria_set", "item__question", "item__response_a", "item__response_b"
        )
        .filter(token=token)
        .first()
    )
    if assignment is None:
        raise Http404("No such item.")
    if assignment.clinician_id != user.pk:
        raise PermissionDenied("This item is not assigned to you.")
    return assignment


class ClinicianStudyListApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        summary="Your studies and progress",
        operation_id="clinician_own_studies_list",
        responses=ClinicianStudySerializer(many=True),
    )
    def get(self, request):
        return Response(ClinicianStudySerializer(clinician_queue(user=request.user), many=True).data)


class ClinicianItemApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        summary="One of your items: scenario, Response A and B, your answers",
        responses=ClinicianItemSerializer,
    )
    def get(self, request, token: str):
        return Response(
            ClinicianItemSerializer(assignment_display(assignment=_own(token, request.user))).data
        )


class ClinicianRatingApi(APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        summary="Save your choices on an item (all at once with complete=true, or some as a draft)",
        request=RatingSubmitSerializer,
        responses={200: ClinicianItemSerializer, 400: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    def post(self, request, token: str):
        assignment = _own(token, request.user)
        serializer = RatingSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        saved = study_rating_submit(
            assignment=assignment, clinician=request.user, **serializer.validated_data
        )
        return Response(ClinicianItemSerializer(assignment_display(assignment=saved)).data)
