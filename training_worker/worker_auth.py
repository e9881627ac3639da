"""Per-run bearer tokens for GPU workers, which hold no database credentials and no user account."""

from dataclasses import dataclass

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from core.models import TERMINAL_STATUSES
from training_worker.models import RunToken, hash_token


@dataclass(frozen=True)
class WorkerPrincipal:
    """The caller behind a run token: a worker acting for exactly one run."""

    run_id: int
    is_authenticated: bool = True
    is_anonymous: bool = False

    def get_username(self) -> str:
        return f"worker:run-{self.run_id}"


class RunTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <run token>'.")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed run token.") from exc
        token = RunToken.objects.select_related("run").filter(key_hash=hash_token(raw)).first()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Unknown or revoked run token.")
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("Run token has expired.")
        return WorkerPrincipal(run_id=token.run_id), token

    def authenticate_header(self, request) -> str:
        return self.keyword


class IsWorkerForThisRun(BasePermission):
    """The token's run must be the run in the URL, and (except for a result replay) still be live."""

    message = "This run token is not valid for this run."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, RunToken):
            return False
        if token.run_id != int(view.kwargs["run_id"]):
            return False
        if token.run.status in TERMINAL_STATUSES and not getattr(view, "accepts_ended_runs", False):
            self.message = "This run has ended."
            return False
        return True


class RunTokenScheme(OpenApiAuthenticationExtension):
    target_class = RunTokenAuthentication
    name = "runToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Per-run token handed to the GPU worker."}
