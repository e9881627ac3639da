"""The criteria-set edit form: one row per criterion."""

from django import forms

from criteria.services import CRITERION_FIELDS


class CriterionForm(forms.Form):
    key = forms.SlugField(max_length=64, help_text="Stable key; data cites criteria by it.")
    name = forms.CharField(max_length=120)
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    better_when = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    worse_when = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class BaseCriterionFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        keys = [
            form.cleaned_data["key"]
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]
        if len(keys) != len(set(keys)):
            raise forms.ValidationError("Each criterion needs its own key.")
        if not keys:
            raise forms.ValidationError("Keep at least one criterion.")

    def criteria(self) -> list[dict]:
        return [
            {field: form.cleaned_data[field] for field in CRITERION_FIELDS}
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]


CriterionFormSet = forms.formset_factory(
    CriterionForm, formset=BaseCriterionFormSet, extra=1, can_delete=True
)
