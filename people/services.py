"""Writes for people: invitations (create, revoke, accept) and accounts (role, active). All audit-logged."""

import secrets
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError, ConflictError, PermissionDeniedError
from core.roles import Role
from core.services import audit_record
from people.errors import UNKNOWN, InvitationUnusable
from people.models import Invitation, InvitationState, token_hash

DEFAULT_EXPIRY_DAYS = 7
MAX_EXPIRY_DAYS = 30


def invitation_create(
    *,
    role: Role,
    created_by: AbstractBaseUser,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    note: str = "",
    request_key: uuid.UUID | None = None,
    request=None,
) -> tuple[Invitation, str]:
    """A new invitation and its token (to show once: only its hash is kept)."""
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ApplicationError(
            field_errors={"expires_in_days": f"Choose between 1 and {MAX_EXPIRY_DAYS} days."}
        )
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                token_hash=token_hash(token),
                role=Role(role).value,
                note=note,
                created_by=created_by,
                expires_at=timezone.now() + timedelta(days=expires_in_days),
                request_key=request_key,
            )
            audit_record(
                action="invitation.create",
                actor=created_by,
                obj=invitation,
                detail={"role": invitation.role, "expires_at": invitation.expires_at.isoformat()},
                request=request,
            )
    except IntegrityError as exc:
        raise ConflictError(
            "This invitation was already created and its link shown once. "
            "Revoke it and create another if the link was lost."
        ) from exc
    return invitation, token


def invitation_revoke(*, invitation: Invitation, actor: AbstractBaseUser, request=None) -> None:
    """Withdraw an unused invitation (guarded UPDATE: one used meanwhile stays used)."""
    now = timezone.now()
    with transaction.atomic():
        revoked = Invitation.objects.filter(
            pk=invitation.pk, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now, revoked_by=actor)
        if not revoked:
            invitation.refresh_from_db()
            raise ConflictError(f"Only an unused invitation can be revoked; this one is {invitation.state}.")
        audit_record(action="invitation.revoke", actor=actor, obj=invitation, request=request)
    invitation.refresh_from_db()


def invitation_accept(*, token: str, username: str, password: str, request=None) -> AbstractBaseUser:
    """Create the invitee's account with the invitation's role; the link is spent.

    The invitation row is locked (SELECT ... FOR UPDATE) while the account is created, so of two
    concurrent accepts of one link exactly one creates an account; the other finds it used.
    """
    user_model = get_user_model()
    username = user_model.normalize_username(username.strip())
    errors: dict[str, list[str]] = {}
    username_field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        username_field.run_validators(username)
        if not username:
            raise ValidationError("Choose a username.")
    except ValidationError as exc:
        errors["username"] = list(exc.messages)
    try:
        validate_password(password, user=user_model(username=username))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(token_hash=token_hash(token)).first()
        if invitation is None:
            raise InvitationUnusable(UNKNOWN)
        if invitation.state != InvitationState.OPEN:
            raise InvitationUnusable(invitation.state)
        if "username" not in errors and user_model.objects.filter(username__iexact=username).exists():
            errors["username"] = ["That username is taken; choose another."]
        if errors:
            raise ApplicationError("Check the highlighted fields.", field_errors=errors)
        try:
            with transaction.atomic():
                user = user_model.objects.create_user(username=username, password=password)
        except IntegrityError as exc:
            raise ApplicationError(
                field_errors={"username": "That username is taken; choose another."}
            ) from exc
        user.groups.add(Group.objects.get_or_create(name=invitation.role)[0])
        Invitation.objects.filter(pk=invitation.pk).update(used_at=timezone.now(), used_by=user)
        audit_record(
            action="invitation.accept",
            actor=user,
            obj=invitation,
            detail={"role": invitation.role},
            request=request,
        )
    return user


# ---- accounts ---------------------------------------------------------------------------------------


def _active_researchers_locked() -> list[int]:
    """Lock every active researcher's row, so two researchers changing each other cannot both pass."""
    return list(
        get_user_model()
        .objects.select_for_update(of=("self",))
        .filter(is_active=True, groups__name=Role.RESEARCHER.value)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _refuse_losing_last_researcher(*, person: AbstractBaseUser, what: str) -> None:
    researchers = _active_researchers_locked()
    if researchers == [person.pk]:
        raise ConflictError(
            f"{person.get_username()} is the last active researcher: {what} would lock everyone out."
        )


def _refuse_self(*, person: AbstractBaseUser, actor: AbstractBaseUser, what: str) -> None:
    if person.pk == actor.pk:
        raise PermissionDeniedError(f"You cannot {what} yourself; ask another researcher.")


def person_role_set(*, person: AbstractBaseUser, role: Role, actor: AbstractBaseUser, request=None) -> bool:
    """Give `person` exactly this role (their other roles end). False when they already had only it."""
    role = Role(role)
    _refuse_self(person=person, actor=actor, what="change the role of")
    with transaction.atomic():
        if role != Role.RESEARCHER:
            _refuse_losing_last_researcher(person=person, what="taking the researcher role away")
        before = sorted(person.groups.filter(name__in=[r.value for r in Role]).values_list("name", flat=True))
        if before == [role.value]:
            return False
        person.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
        person.groups.add(Group.objects.get_or_create(name=role.value)[0])
        audit_record(
            action="person.role_change",
            actor=actor,
            obj=person,
            detail={"from": before, "to": role.value},
            request=request,
        )
    return True


def person_active_set(
    *, person: AbstractBaseUser, active: bool, actor: AbstractBaseUser, request=None
) -> bool:
    """Deactivate (no sign-in, sessions end) or reactivate an account. False when nothing changed."""
    user_model = get_user_model()
    with transaction.atomic():
        if not active:
            _refuse_self(person=person, actor=actor, what="deactivate")
            _refuse_losing_last_researcher(person=person, what="deactivating them")
        changed = user_model.objects.filter(pk=person.pk, is_active=not active).update(is_active=active)
        if changed:
            audit_record(
                action="person.reactivate" if active else "person.deactivate",
                actor=actor,
                obj=person,
                request=request,
            )
    person.refresh_from_db()
    return bool(changed)
