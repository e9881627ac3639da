"""Researcher pages that queue a generation run for a question bank and ingest what it wrote."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from annotation.models import QuestionBank, ResponseSet
from core.forms import form_add_application_error
from core.views import ResearcherRequiredMixin
from training_worker.generation.forms import GenerationForm
from training_worker.generation.services import (
    GenerationError,
    response_set_generate,
    response_set_ingest_generation,
)


class GenerationLaunchView(ResearcherRequiredMixin, TemplateView):
    """Generate K responses per question of a snapshot's split of this bank, as a new response set."""

    template_name = "training_worker/generation_form.html"

    def bank(self) -> QuestionBank:
        return get_object_or_404(QuestionBank, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bank = self.bank()
        context["bank"] = bank
        context.setdefault("form", GenerationForm(bank=bank))
        return context

    def post(self, request, pk: int):
        form = GenerationForm(request.POST, bank=self.bank())
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            response_set = response_set_generate(created_by=request.user, **form.cleaned_data)
        except GenerationError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(
            request, f"Queued generation run {response_set.training_run_id} for {response_set.name}."
        )
        return redirect("annotation-response-set", pk=response_set.pk)


class ResponseSetIngestView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        response_set = get_object_or_404(ResponseSet, pk=pk)
        try:
            report = response_set_ingest_generation(response_set=response_set, actor=request.user)
        except GenerationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Stored {report.get('rows_accepted', 0)} generated responses.")
        return redirect("annotation-response-set", pk=pk)
