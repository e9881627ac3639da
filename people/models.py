"""One-time invitations that bring researchers, clinicians and annotators onto the platform."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.roles import Role

ROLE_CHOICES = [(role.value, role.value.title()) for role in Role]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationState(models.TextChoices):
    OPEN = "open", "Open"
    USED = "used", "Used"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Invitation(models.Model):
    """A link that creates one account with one role. Only the SHA-256 of its token is stored."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for (researchers only).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="invitation", on_delete=models.SET_NULL
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    request_key = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        help_text="The creating form's key: a resubmission makes no second link.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation {self.pk} ({self.role}, {self.state})"

    @property
    def state(self) -> str:
        if self.used_at is not None:
            return InvitationState.USED
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationState.EXPIRED
        return InvitationState.OPEN
