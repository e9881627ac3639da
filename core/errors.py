"""The one error model of the web apps.

Services raise an :class:`ApplicationError` (or a subclass named for the refusal) carrying a message written
for the person who asked, the inputs at fault and an HTTP status. The API's exception handler
(`core.api.exception_handler`) and the form helper (`core.forms.form_add_application_error`) translate it in
one place each, so views neither catch nor re-shape service errors.
"""

from collections.abc import Iterable, Mapping
from http import HTTPStatus

FieldErrors = dict[str, list[str]]


def _normalised(field_errors: Mapping[str, str | Iterable[str]] | None) -> FieldErrors:
    """Every field maps to a list of messages, so callers may pass one message per field as a plain str."""
    return {
        field: [messages] if isinstance(messages, str) else list(messages)
        for field, messages in (field_errors or {}).items()
    }


class ApplicationError(Exception):
    """An action a service refuses. Nothing was written unless the subclass says otherwise.

    `message` sums the refusal up; `field_errors` maps input names to their messages. Without a message the
    field errors are joined into one, so `str(error)` always reads well.
    """

    status: int = HTTPStatus.BAD_REQUEST
    # When set, the refusal is temporary: the API answers with a Retry-After header of this many seconds.
    retry_after_s: int | None = None

    def __init__(
        self, message: str = "", field_errors: Mapping[str, str | Iterable[str]] | None = None
    ) -> None:
        self.field_errors = _normalised(field_errors)
        self.message = message or "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in self.field_errors.items()
        )
        super().__init__(self.message)

    def all_messages(self) -> list[str]:
        """What a page without a form shows: every field's messages, or the message when no field is named."""
        return [message for messages in self.field_errors.values() for message in messages] or [self.message]


class PermissionDeniedError(ApplicationError):
    """The user may not act on this object."""

    status = HTTPStatus.FORBIDDEN


class NotFoundError(ApplicationError):
    """The object does not exist, or is not shown to this user."""

    status = HTTPStatus.NOT_FOUND


class ConflictError(ApplicationError):
    """The request contradicts the object's current state (closed, ended, already recorded)."""

    status = HTTPStatus.CONFLICT
