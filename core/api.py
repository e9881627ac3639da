"""API plumbing shared by every app: the error format, service errors included, and strict serializers."""

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError


def application_error_body(error: ApplicationError) -> dict[str, object]:
    """`detail` sums the refusal up; each input at fault is a key of its own, as in DRF's validation errors.

    A 400 about the request as a whole also lists its message under DRF's non-field key, the shape a
    serializer-level validation error has, so clients read every 400 the same way.
    """
    body: dict[str, object] = {"detail": error.message, **error.field_errors}
    if not error.field_errors and error.status == status.HTTP_400_BAD_REQUEST:
        body[api_settings.NON_FIELD_ERRORS_KEY] = [error.message]
    return body


def exception_handler(exc, context):
    """DRF's handler, plus service refusals with their status and oversized bodies as 400 (not 500)."""
    if isinstance(exc, ApplicationError):
        response = Response(application_error_body(exc), status=exc.status)
        if exc.retry_after_s is not None:
            response["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "Request body is too large.", "code": "body_too_large"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)


class StrictSerializer(serializers.Serializer):
    """An input serializer that rejects unknown fields instead of silently dropping them."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": [f"Expected a JSON object, got {type(data).__name__}."]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
