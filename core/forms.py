"""Form plumbing shared by every app's HTML views."""

from django import forms

from core.errors import ApplicationError


def form_add_application_error(form: forms.BaseForm, error: ApplicationError, *, prefix: str = "") -> None:
    """Show a service's refusal on the form that asked: each field error on its field when the form has
    one (else above the form), and the message above the form when no field is named.

    `prefix` leads the message above the form, e.g. to say that nothing was imported.
    """
    if not error.field_errors:
        form.add_error(None, f"{prefix}{error.message}")
        return
    for field, messages in error.field_errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
