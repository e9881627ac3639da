"""Why an invitation link creates no account."""

from core.errors import ConflictError
from people.models import InvitationState

UNKNOWN = "unknown"

UNUSABLE_MESSAGES = {
    InvitationState.USED: "This invitation has already been used. Each link creates one account.",
    InvitationState.REVOKED: "This invitation was withdrawn by the research team.",
    InvitationState.EXPIRED: "This invitation has expired.",
    UNKNOWN: "This invitation link is not valid. Check that it was copied in full.",
}


class InvitationUnusable(ConflictError):
    """The link was used, revoked or has expired, or never existed: it creates no account."""

    def __init__(self, state: str) -> None:
        self.state = state
        super().__init__(UNUSABLE_MESSAGES[state])
