"""Clinician pages: their studies, the blinded item page (A / B / tie per criterion), the post-study question.

Everything here is addressed by random tokens and shows only the clinician title, the scenario, the two
responses as "Response A" and "Response B" in this clinician's order, and the clinician's own answers.
An item assigned to someone else is refused (403); an unknown token is a 404.
"""

from collections.abc import Mapping, Sequence

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from core.roles import Role
from core.views import RoleRequiredMixin
from evaluation.forms import GuessForm, RatingForm, SkipForm
from evaluation.models import ClinicianStudy, StudyAssignment
from evaluation.selectors.studies import (
    assignment_display,
    clinician_queue,
    clinician_queue_summary,
    clinician_study_assignments,
)
from evaluation.services.studies import (
    NotYourItem,
    RatingInvalid,
    StudyClosed,
    study_assignment_skip,
    study_guesses_submit,
    study_rating_submit,
)

#: Where the error summary links for a field that is not a criterion (every other message: to the form).
FIELD_TARGETS = {"comment": "comment", "flag_note": "flag-note", "reason": "skip-reason"}


class ClinicianView(RoleRequiredMixin):
    roles = (Role.CLINICIAN,)

    def own_assignment(self, token: str) -> StudyAssignment:
        assignment = get_object_or_404(
            StudyAssignment.objects.select_related(
                "item__study__criteria_set", "item__question", "item__response_a", "item__response_b"
            ),
            token=token,
        )
        if assignment.clinician_id != self.request.user.pk:
            raise PermissionDenied("This item is not assigned to you.")
        return assignment

    def own_study(self, token: str) -> ClinicianStudy:
        study = get_object_or_404(ClinicianStudy, token=token)
        if not StudyAssignment.objects.filter(item__study=study, clinician=self.request.user).exists():
            raise PermissionDenied("You have no items in this study.")
        return study


class ClinicianHomeView(ClinicianView, TemplateView):
    """The clinician's studies, their progress and where to continue."""

    template_name = "evaluation/clinician_home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            studies=clinician_queue(user=self.request.user),
            queue=clinician_queue_summary(user=self.request.user),
        )
        return context


class ClinicianStudyView(ClinicianView, TemplateView):
    """The clinician's own items in one study, in their order, with what is done."""

    template_name = "evaluation/clinician_study.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        study = self.own_study(kwargs["token"])
        assignments = clinician_study_assignments(study=study, user=self.request.user)
        context.update(
            study=study,
            assignments=assignments,
            done=sum(1 for assignment in assignments if assignment.is_submitted),
            skipped=sum(1 for assignment in assignments if assignment.is_skipped),
            guess_open=study.ask_blinding_guess and all(assignment.is_finished for assignment in assignments),
        )
        return context


def error_summary(
    errors: Mapping[str, Sequence[str]], criteria: Sequence[Mapping[str, str]]
) -> list[tuple[str, str]]:
    """(element id, message) pairs for the item page's error summary: a criterion's messages link to its
    first choice, named by the criterion; the notes and the skip reason link to their fields."""
    names = {criterion["key"]: criterion["name"] for criterion in criteria}
    entries = []
    for field, found in errors.items():
        key = field.removeprefix("choice-")
        for message in found:
            if key in names:
                entries.append((f"choice-{key}-A", f"{names[key]}: {message}"))
            else:
                entries.append((FIELD_TARGETS.get(field, "rating-form"), message))
    return entries


class ClinicianItemView(ClinicianView, TemplateView):
    template_name = "evaluation/clinician_item.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        assignment = kwargs.get("assignment") or self.own_assignment(kwargs["token"])
        item = assignment_display(assignment=assignment)
        form = kwargs.get("form")
        errors = kwargs.get("errors") or {}
        if form is not None:  # a refused submission: show what was chosen, not what is stored
            for criterion in item["criteria"]:
                criterion["choice"] = form.data.get(f"choice-{criterion['key']}", "")
        for criterion in item["criteria"]:
            criterion["errors"] = list(errors.get(criterion["key"], [])) + list(
                errors.get(f"choice-{criterion['key']}", [])
            )
        context.update(
            item=item,
            error_summary=error_summary(errors, item["criteria"]),
            skip_form=kwargs.get("skip_form") or SkipForm(),
        )
        return context

    def post(self, request, token: str):
        assignment = self.own_assignment(token)
        keys = list(assignment.item.study.criteria_set.criteria.values_list("key", flat=True))
        form = RatingForm(request.POST, criteria_keys=keys)
        complete = request.POST.get("action", "submit") != "save"
        if not form.is_valid():
            return self.refused(assignment, status=400, form=form, errors=form.errors)
        try:
            study_rating_submit(
                assignment=assignment,
                clinician=request.user,
                ratings=form.ratings(),
                complete=complete,
                comment=form.cleaned_data["comment"],
                flagged_unsafe=form.cleaned_data["flagged_unsafe"],
                flag_note=form.cleaned_data["flag_note"],
            )
        except NotYourItem as exc:
            raise PermissionDenied(str(exc)) from exc
        except (StudyClosed, RatingInvalid) as exc:
            return self.refused(assignment, status=exc.status, form=form, errors=_field_errors(exc))
        if not complete:
            messages.success(request, "Saved. You can come back to this item later.")
            return redirect("clinician-item", token=token)
        messages.success(request, "Saved.")
        return _continue(assignment)

    def refused(self, assignment, *, status: int, **kwargs):
        return self.render_to_response(self.get_context_data(assignment=assignment, **kwargs), status=status)


class ClinicianSkipView(ClinicianView, View):
    """Skip an item with a reason, then continue with the next one (skipping twice changes nothing)."""

    def post(self, request, token: str):
        assignment = self.own_assignment(token)
        form = SkipForm(request.POST)
        page = ClinicianItemView()
        page.setup(request, token=token)
        if not form.is_valid():
            return page.refused(assignment, status=400, skip_form=form, errors=form.errors)
        try:
            study_assignment_skip(
                assignment=assignment, clinician=request.user, reason=form.cleaned_data["reason"]
            )
        except NotYourItem as exc:
            raise PermissionDenied(str(exc)) from exc
        except (StudyClosed, RatingInvalid) as exc:
            return page.refused(assignment, status=exc.status, skip_form=form, errors=_field_errors(exc))
        messages.success(request, "Skipped. Thank you for telling us why.")
        return _continue(assignment)


def _field_errors(exc: StudyClosed | RatingInvalid) -> dict[str, list[str]]:
    return exc.field_errors or {"": [exc.message]}


def _continue(assignment: StudyAssignment):
    """The next item still to do, else the final question (if the study asks it), else the study page."""
    nxt = assignment_display(assignment=assignment)["next_pending_token"]
    if nxt:
        return redirect("clinician-item", token=nxt)
    if assignment.item.study.ask_blinding_guess:
        return redirect("clinician-guesses", token=assignment.item.study.token)
    return redirect("clinician-study", token=assignment.item.study.token)


class ClinicianGuessView(ClinicianView, TemplateView):
    """After the last item: for each item, which response came from the trained model?"""

    template_name = "evaluation/clinician_guesses.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        study = self.own_study(self.kwargs["token"])
        assignments = clinician_study_assignments(study=study, user=self.request.user)
        form = kwargs.get("form")
        context.update(
            study=study,
            rows=[
                {
                    "assignment": assignment,
                    "field": f"guess-{assignment.token}",
                    "value": form.data.get(f"guess-{assignment.token}", "")
                    if form
                    else assignment.blinding_guess,
                }
                for assignment in assignments
            ],
            complete=all(assignment.is_finished for assignment in assignments),
            errors=kwargs.get("errors") or [],
            choices=StudyAssignment.Guess.choices,
        )
        return context

    def post(self, request, token: str):
        study = self.own_study(token)
        tokens = [a.token for a in clinician_study_assignments(study=study, user=request.user)]
        form = GuessForm(request.POST, tokens=tokens)
        if not form.is_valid():
            errors = ["Answer every item (Response A, Response B or don't know)."]
            return self.render_to_response(self.get_context_data(form=form, errors=errors), status=400)
        try:
            study_guesses_submit(study=study, clinician=request.user, guesses=form.guesses())
        except (StudyClosed, RatingInvalid) as exc:
            context = self.get_context_data(form=form, errors=exc.all_messages())
            return self.render_to_response(context, status=exc.status)
        messages.success(request, "Thank you. Your answers are saved.")
        return redirect("clinician-study", token=token)
