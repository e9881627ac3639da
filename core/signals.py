"""Audit every sign-in and sign-out, and failed sign-ins up to a rate per client address.

Failed sign-ins cost an attacker nothing, and every audit row is permanent, so past
AUDIT_LOGIN_FAILURES_PER_MINUTE rows per address per minute the rest are only counted; the next row written
for that address carries the count as detail {"suppressed": k}.
"""

import logging

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from core import ratelimit
from core.services import audit_record

logger = logging.getLogger(__name__)

LOGIN_FAILED_SCOPE = "audit-login-failed"
# How long a count of unwritten failures waits for the address's next written row.
SUPPRESSED_TALLY_TTL_S = 24 * 3600


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs) -> None:
    audit_record(action="auth.login", actor=user, request=request)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_record(action="auth.logout", actor=user, request=request)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    address = ratelimit.client_address(request) if request is not None else "unknown"
    limit = settings.AUDIT_LOGIN_FAILURES_PER_MINUTE
    count = ratelimit.hit(scope=LOGIN_FAILED_SCOPE, key=address, window_s=60)
    if count > limit:
        ratelimit.tally_add(scope=LOGIN_FAILED_SCOPE, key=address, timeout_s=SUPPRESSED_TALLY_TTL_S)
        if count == limit + 1:
            logger.warning(
                "Failed sign-ins from %s exceed %d a minute; further audit rows held back.", address, limit
            )
        return
    suppressed = ratelimit.take_tally(scope=LOGIN_FAILED_SCOPE, key=address)
    audit_record(
        action="auth.login_failed",
        actor_label=str(credentials.get("username", ""))[:150] or "unknown",
        detail={"suppressed": suppressed} if suppressed else None,
        request=request,
    )
