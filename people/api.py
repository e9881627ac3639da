"""People and invitations over the API (researchers only), one class per operation."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictSerializer
from core.permissions import IsResearcher
from core.roles import Role
from people.models import ROLE_CHOICES, InvitationState
from people.selectors import invitation_get, invitations_list, people_list, person_get
from people.services import (
    DEFAULT_EXPIRY_DAYS,
    MAX_EXPIRY_DAYS,
    invitation_create,
    invitation_revoke,
    person_active_set,
    person_role_set,
)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLE_CHOICES))
    is_active = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)
    date_joined = serializers.DateTimeField()
    rankings_submitted = serializers.IntegerField(help_text="Ranking tasks submitted (annotators).")
    comparisons_rated = serializers.IntegerField(help_text="Study comparisons submitted (clinicians).")


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=ROLE_CHOICES)
    note = serializers.CharField()
    state = serializers.ChoiceField(choices=InvitationState.choices)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_by = serializers.CharField(source="used_by.username", allow_null=True, default=None)
    used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class InvitationCreatedSerializer(InvitationSerializer):
    link = serializers.URLField(help_text="The one-time sign-up link. Shown only in this response.")


class InvitationCreateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=MAX_EXPIRY_DAYS, default=DEFAULT_EXPIRY_DAYS
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    request_key = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Resending the same key creates no second link.",
    )


class RoleSetSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


def _person(pk: int) -> dict:
    return PersonSerializer(people_list(ids=[pk])[0]).data


class PeopleListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = PersonSerializer
    pagination_class = None

    def get_queryset(self):
        return people_list()


class PersonRoleApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        request=RoleSetSerializer, responses=PersonSerializer, summary="Give a person exactly one role"
    )
    def post(self, request, pk: int):
        person = person_get(pk=pk)
        serializer = RoleSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person_role_set(
            person=person, role=Role(serializer.validated_data["role"]), actor=request.user, request=request
        )
        return Response(_person(person.pk))


class PersonActiveApi(APIView):
    """Deactivate or reactivate an account (`active` says which)."""

    permission_classes = [IsResearcher]
    active: bool

    def post(self, request, pk: int):
        person = person_get(pk=pk)
        person_active_set(person=person, active=self.active, actor=request.user, request=request)
        return Response(_person(person.pk))


@extend_schema_view(
    post=extend_schema(request=None, responses=PersonSerializer, summary="Deactivate an account (no sign-in)")
)
class PersonDeactivateApi(PersonActiveApi):
    active = False


@extend_schema_view(
    post=extend_schema(request=None, responses=PersonSerializer, summary="Reactivate a deactivated account")
)
class PersonReactivateApi(PersonActiveApi):
    active = True


class InvitationListApi(ListAPIView):
    permission_classes = [IsResearcher]
    serializer_class = InvitationSerializer

    def get_queryset(self):
        return invitations_list()


class InvitationCreateApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={201: InvitationCreatedSerializer},
        summary="Create a one-time invitation link (its token is shown only in this response)",
    )
    def post(self, request):
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        invitation, token = invitation_create(
            role=Role(data["role"]),
            expires_in_days=data["expires_in_days"],
            note=data["note"],
            request_key=data["request_key"],
            created_by=request.user,
            request=request,
        )
        body = {
            **InvitationSerializer(invitation).data,
            "link": request.build_absolute_uri(reverse("invitation-accept", args=[token])),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class InvitationRevokeApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses=InvitationSerializer, summary="Revoke an unused invitation")
    def post(self, request, pk: int):
        invitation = invitation_get(pk=pk)
        invitation_revoke(invitation=invitation, actor=request.user, request=request)
        return Response(InvitationSerializer(invitation).data)
