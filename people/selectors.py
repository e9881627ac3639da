"""Reads for the People page: accounts with their roles and work done, and invitations."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from annotation.selectors import rankings_submitted_by
from core.errors import NotFoundError
from core.roles import Role
from evaluation.selectors.studies import comparisons_rated_by
from people.errors import UNKNOWN, InvitationUnusable
from people.models import Invitation, InvitationState, token_hash


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    roles: list[str]
    is_active: bool
    last_login: datetime | None
    date_joined: datetime
    rankings_submitted: int
    comparisons_rated: int


def people_list(*, ids: Collection[int] | None = None) -> list[Person]:
    """Every account (or those of `ids`), by username: roles, last sign-in, rankings submitted and
    comparisons rated."""
    accounts = get_user_model().objects.prefetch_related("groups").order_by("username")
    users = list(accounts if ids is None else accounts.filter(pk__in=ids))
    rankings = rankings_submitted_by(user_ids=[user.pk for user in users])
    comparisons = comparisons_rated_by(user_ids=[user.pk for user in users])
    role_names = {role.value for role in Role}
    return [
        Person(
            id=user.pk,
            username=user.get_username(),
            roles=sorted(group.name for group in user.groups.all() if group.name in role_names),
            is_active=user.is_active,
            last_login=user.last_login,
            date_joined=user.date_joined,
            rankings_submitted=rankings.get(user.pk, 0),
            comparisons_rated=comparisons.get(user.pk, 0),
        )
        for user in users
    ]


def person_get(*, pk: int) -> AbstractBaseUser:
    try:
        return get_user_model().objects.get(pk=pk)
    except get_user_model().DoesNotExist as exc:
        raise NotFoundError("No such person.") from exc


def invitations_list() -> QuerySet[Invitation]:
    return Invitation.objects.select_related("created_by", "used_by", "revoked_by")


def invitation_get(*, pk: int) -> Invitation:
    try:
        return Invitation.objects.get(pk=pk)
    except Invitation.DoesNotExist as exc:
        raise NotFoundError("No such invitation.") from exc


def invitation_for_token(*, token: str) -> Invitation:
    """The open invitation of this token; InvitationUnusable says why there is none."""
    invitation = Invitation.objects.filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise InvitationUnusable(UNKNOWN)
    if invitation.state != InvitationState.OPEN:
        raise InvitationUnusable(invitation.state)
    return invitation
