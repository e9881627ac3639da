"""Form plumbing shared by every app's HTML views."""

from datetime import datetime

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


class AuditFilterForm(forms.Form):
    """The audit log's filters, from the query string (the page) or the export form (the CSV)."""

    action = forms.CharField(required=False, max_length=100)
    actor = forms.CharField(required=False, max_length=150)
    object_type = forms.CharField(required=False, max_length=100)
    since = forms.DateTimeField(required=False)
    until = forms.DateTimeField(required=False)

    def filters(self) -> dict[str, str]:
        """The valid, non-empty filters as text (ISO dates); an invalid one is left out, its error shown."""
        self.is_valid()
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in self.cleaned_data.items()
            if value
        }
