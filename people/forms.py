"""Forms of the People page and of the invitation link."""

import uuid

from django import forms

from people.models import ROLE_CHOICES
from people.services import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS


class InvitationForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    expires_in_days = forms.IntegerField(
        label="Expires after (days)", min_value=1, max_value=MAX_EXPIRY_DAYS, initial=DEFAULT_EXPIRY_DAYS
    )
    note = forms.CharField(
        max_length=200, required=False, help_text="Who it is for; only researchers see this."
    )
    request_key = forms.UUIDField(widget=forms.HiddenInput, required=False, initial=uuid.uuid4)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class AcceptForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_again = forms.CharField(
        label="Password (again)",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return cleaned
