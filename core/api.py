"""API plumbing shared by every app: the error format and strict input serializers."""

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, plus oversized bodies as 400 with a clear message instead of a 500."""
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
