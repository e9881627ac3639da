"""The People page (researchers) and the invitation link (anyone holding it)."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.generic import TemplateView, View

from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.roles import Role
from core.views import ResearcherRequiredMixin
from people.errors import UNKNOWN, InvitationUnusable
from people.forms import AcceptForm, InvitationForm, RoleForm
from people.models import ROLE_CHOICES, Invitation
from people.selectors import invitation_for_token, invitations_list, people_list
from people.services import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    person_active_set,
    person_role_set,
)

# An account created from an invitation signs in with the password it just chose.
SIGN_IN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def people_page(request, *, status: int = 200, refusal: str = "", form: InvitationForm | None = None):
    return TemplateResponse(
        request,
        "people/people.html",
        {
            "people": people_list(),
            "invitations": invitations_list()[:100],
            "invitation_form": form or InvitationForm(),
            "role_choices": ROLE_CHOICES,
            "refusal": refusal,
        },
        status=status,
    )


class PeopleView(ResearcherRequiredMixin, View):
    def get(self, request):
        return people_page(request)


class InvitationCreateView(ResearcherRequiredMixin, View):
    """Creates the invitation and shows its link once, in this response (it is stored nowhere)."""

    def post(self, request):
        form = InvitationForm(request.POST)
        if not form.is_valid():
            return people_page(request, status=400, form=form)
        try:
            invitation, token = invitation_create(
                role=Role(form.cleaned_data["role"]),
                expires_in_days=form.cleaned_data["expires_in_days"],
                note=form.cleaned_data["note"],
                request_key=form.cleaned_data["request_key"],
                created_by=request.user,
                request=request,
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
            return people_page(request, status=error.status, form=form)
        link = request.build_absolute_uri(reverse("invitation-accept", args=[token]))
        return TemplateResponse(
            request, "people/invitation_created.html", {"invitation": invitation, "link": link}, status=201
        )


class InvitationRevokeView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        invitation = get_object_or_404(Invitation, pk=pk)
        try:
            invitation_revoke(invitation=invitation, actor=request.user, request=request)
        except ApplicationError as error:
            return people_page(request, status=error.status, refusal=error.message)
        messages.success(request, "Invitation revoked: its link no longer works.")
        return redirect("people")


class PersonRoleView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        person = get_object_or_404(get_user_model(), pk=pk)
        form = RoleForm(request.POST)
        if not form.is_valid():
            return people_page(request, status=400, refusal="Choose one of the roles offered.")
        try:
            changed = person_role_set(
                person=person, role=Role(form.cleaned_data["role"]), actor=request.user, request=request
            )
        except ApplicationError as error:
            return people_page(request, status=error.status, refusal=error.message)
        if changed:
            messages.success(request, f"{person.get_username()} is now a {form.cleaned_data['role']}.")
        return redirect("people")


class PersonActiveView(ResearcherRequiredMixin, View):
    """Deactivate (active = False) or reactivate (True) one account."""

    active = False

    def post(self, request, pk: int):
        person = get_object_or_404(get_user_model(), pk=pk)
        try:
            changed = person_active_set(
                person=person, active=self.active, actor=request.user, request=request
            )
        except ApplicationError as error:
            return people_page(request, status=error.status, refusal=error.message)
        if changed:
            state = "reactivated" if self.active else "deactivated: they can no longer sign in"
            messages.success(request, f"{person.get_username()} {state}.")
        return redirect("people")


class InvitationAcceptView(TemplateView):
    """Anyone with the link chooses a username and password and is signed in with the invited role."""

    template_name = "people/invitation_accept.html"

    def unusable(self, error: InvitationUnusable):
        return TemplateResponse(
            self.request,
            "people/invitation_unusable.html",
            {"message": error.message},
            status=404 if error.state == UNKNOWN else 410,
        )

    def get(self, request, token: str):
        try:
            invitation = invitation_for_token(token=token)
        except InvitationUnusable as error:
            return self.unusable(error)
        return self.render_to_response(self.get_context_data(invitation=invitation, form=AcceptForm()))

    def post(self, request, token: str):
        form = AcceptForm(request.POST)
        try:
            invitation = invitation_for_token(token=token)
            if not form.is_valid():
                return self.render_to_response(
                    self.get_context_data(invitation=invitation, form=form), status=400
                )
            user = invitation_accept(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                request=request,
            )
        except InvitationUnusable as error:
            return self.unusable(error)
        except ApplicationError as error:
            form_add_application_error(form, error)
            return self.render_to_response(
                self.get_context_data(invitation=invitation, form=form), status=error.status
            )
        login(request, user, backend=SIGN_IN_BACKEND)
        messages.success(request, f"Welcome! Your account has the {invitation.role} role.")
        return redirect("home")
