"""Researcher pages for criteria sets."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from core.roles import Role
from core.views import ResearcherRequiredMixin, RoleRequiredMixin
from criteria.forms import CriterionFormSet
from criteria.models import CriteriaSet
from criteria.selectors import criteria_set_get, criteria_sets_current
from criteria.services import CRITERION_FIELDS, criteria_set_new_version


class CriteriaListView(RoleRequiredMixin, TemplateView):
    template_name = "criteria/criteria_list.html"
    roles = tuple(Role)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["criteria_sets"] = criteria_sets_current()
        context["history"] = CriteriaSet.objects.filter(is_current=False)
        return context


class CriteriaEditView(ResearcherRequiredMixin, TemplateView):
    template_name = "criteria/criteria_edit.html"

    def criteria_set(self) -> CriteriaSet:
        try:
            return criteria_set_get(key=self.kwargs["key"])
        except CriteriaSet.DoesNotExist as exc:
            raise Http404("No such criteria set.") from exc

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        criteria_set = self.criteria_set()
        context["criteria_set"] = criteria_set
        context.setdefault(
            "formset",
            CriterionFormSet(
                initial=[
                    {field: getattr(c, field) for field in CRITERION_FIELDS}
                    for c in criteria_set.criteria.all()
                ]
            ),
        )
        return context

    def post(self, request, key: str):
        formset = CriterionFormSet(request.POST)
        if not formset.is_valid():
            return self.render_to_response(self.get_context_data(formset=formset))
        new_set = criteria_set_new_version(
            criteria_set=self.criteria_set(), criteria=formset.criteria(), actor=request.user
        )
        messages.success(request, f"Saved {new_set.name} as version {new_set.version}.")
        return redirect("criteria-list")
