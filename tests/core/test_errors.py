"""One error model: a service's ApplicationError reaches API clients and forms the same way everywhere."""

import pytest
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from core.api import exception_handler
from core.errors import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from core.forms import form_add_application_error


class LaunchLikeForm(forms.Form):
    name = forms.CharField()
    weights = forms.CharField()


def test_field_errors_are_lists_and_the_message_defaults_to_them():
    error = ApplicationError(field_errors={"weights": "Must sum to 1.", "name": ["Taken.", "Too long."]})
    assert error.field_errors == {"weights": ["Must sum to 1."], "name": ["Taken.", "Too long."]}
    assert str(error) == error.message == "weights: Must sum to 1.; name: Taken. Too long."
    assert error.status == 400
    assert error.all_messages() == ["Must sum to 1.", "Taken.", "Too long."]
    assert ApplicationError("Closed.").all_messages() == ["Closed."]


def test_semantic_subclasses_carry_their_status():
    assert PermissionDeniedError("x").status == 403
    assert NotFoundError("x").status == 404
    assert ConflictError("x").status == 409


def test_api_handler_answers_field_errors_with_the_error_status():
    class Refused(ConflictError):
        pass

    response = exception_handler(Refused("Study is open.", {"state": "Close it first."}), context={})
    assert response.status_code == 409
    assert response.data == {"detail": "Study is open.", "state": ["Close it first."]}


def test_api_handler_reports_a_400_without_fields_under_non_field_errors():
    response = exception_handler(ApplicationError("No complete responses yet."), context={})
    assert response.status_code == 400
    assert response.data == {
        "detail": "No complete responses yet.",
        "non_field_errors": ["No complete responses yet."],
    }


@pytest.mark.parametrize(("error_class", "status"), [(NotFoundError, 404), (PermissionDeniedError, 403)])
def test_api_handler_answers_other_refusals_with_detail_only(error_class, status):
    response = exception_handler(error_class("No such task."), context={})
    assert response.status_code == status and response.data == {"detail": "No such task."}


def test_form_helper_puts_field_errors_on_their_fields_and_the_rest_above_the_form():
    form = LaunchLikeForm(data={"name": "run", "weights": "{}"})
    assert form.is_valid()
    error = ApplicationError(field_errors={"weights": "Must sum to 1.", "parents": "Run #3 left no policy."})
    form_add_application_error(form, error)
    assert form.errors["weights"] == ["Must sum to 1."]
    assert form.errors[NON_FIELD_ERRORS] == ["Run #3 left no policy."]


def test_form_helper_shows_a_fieldless_error_with_its_prefix():
    form = LaunchLikeForm(data={"name": "run", "weights": "{}"})
    assert form.is_valid()
    form_add_application_error(form, ApplicationError("missing column"), prefix="Nothing was imported: ")
    assert form.non_field_errors() == ["Nothing was imported: missing column"]
