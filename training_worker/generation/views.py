"""Researcher pages that queue a generation run (from a question bank or a policy's page) and ingest it."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from annotation.models import QuestionBank, ResponseSet
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.views import ResearcherRequiredMixin
from training_worker.generation.forms import GenerationForm
from training_worker.generation.services import (
    GenerationError,
    response_set_generate,
    response_set_ingest_generation,
)
from training_worker.model_picker import policy_runs
from training_worker.models import TrainingRun


class GenerationLaunchView(ResearcherRequiredMixin, TemplateView):
    """Generate K responses per question of a snapshot's split with a picked model, as a new response set.

    Reached from a bank's page (snapshots of that bank) or a succeeded policy's page (that policy chosen)."""

    template_name = "training_worker/generation_form.html"

    def bank(self) -> QuestionBank | None:
        if self.kwargs.get("bank_pk") is None:
            return None
        return get_object_or_404(QuestionBank, pk=self.kwargs["bank_pk"])

    def policy_run(self) -> TrainingRun | None:
        if self.kwargs.get("run_pk") is None:
            return None
        return get_object_or_404(policy_runs(), pk=self.kwargs["run_pk"])

    def form(self, data=None) -> GenerationForm:
        run = self.policy_run()
        initial = {"model": f"run:{run.pk}", "name": f"{run.name}: test answers"[:200]} if run else {}
        return GenerationForm(data, bank=self.bank(), initial=initial)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(bank=self.bank(), policy_run=self.policy_run())
        context.setdefault("form", self.form())
        return context

    def post(self, request, **kwargs):
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            response_set = response_set_generate(created_by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form), status=400)
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
