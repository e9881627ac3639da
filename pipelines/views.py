"""Researcher pages: pipelines, starting one ("Reproduce" on a snapshot), the live DAG, retry, cancel."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.views import ResearcherRequiredMixin
from evaluation.figures import FORMATS
from pipelines.forms import PipelineStartForm
from pipelines.selectors import (
    pipeline_figures,
    pipeline_graph,
    pipeline_status,
    pipelines_list,
)
from pipelines.services.bundle import pipeline_bundle_export
from pipelines.services.engine import pipeline_cancel, pipeline_start, plan_store, step_retry


class PipelineListView(ResearcherRequiredMixin, TemplateView):
    template_name = "pipelines/pipeline_list.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "pipelines": pipelines_list()[:200]}


class PipelineStartView(ResearcherRequiredMixin, TemplateView):
    template_name = "pipelines/pipeline_start.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        initial = {"snapshot": self.request.GET.get("snapshot", "")}
        context.setdefault("form", PipelineStartForm(initial=initial))
        return context

    def post(self, request):
        form = PipelineStartForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            plan = plan_store(text=form.cleaned_data["plan_text"], created_by=request.user)
            pipeline = pipeline_start(
                plan=plan, snapshot=form.cleaned_data["snapshot"], created_by=request.user
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, f"Pipeline {pipeline.pk} started.")
        return redirect("pipeline-detail", pk=pipeline.pk)


class PipelineDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "pipelines/pipeline_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pipeline = get_object_or_404(pipelines_list(), pk=kwargs["pk"])
        document = pipeline_status(pipeline)
        fingerprint = "|".join(f"{step['name']}:{step['state']}" for step in document["steps"])
        return {
            **context,
            "pipeline": pipeline,
            "document": document,
            "graph": pipeline_graph(document),
            "figures": pipeline_figures(pipeline_id=pipeline.pk),
            "fingerprint": f"{document['state']}|{fingerprint}",
        }


class PipelineFigureView(ResearcherRequiredMixin, View):
    """A figure file a figures step wrote, served as stored."""

    def get(self, request, pk: int, name: str, fmt: str):
        figure = get_object_or_404(pipeline_figures(pipeline_id=pk), name=name, fmt=fmt)
        response = HttpResponse(bytes(figure.content), content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'inline; filename="pipeline-{pk}-{figure.filename}"'
        return response


def bundle_response(*, pipeline, actor) -> HttpResponse:
    """The study bundle as a zip download (the service audit-logs the export)."""
    response = HttpResponse(
        pipeline_bundle_export(pipeline=pipeline, actor=actor), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="pipeline-{pipeline.pk}-study-bundle.zip"'
    return response


class PipelineBundleView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int):
        return bundle_response(pipeline=get_object_or_404(pipelines_list(), pk=pk), actor=request.user)


class PipelineCancelView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        pipeline = get_object_or_404(pipelines_list(), pk=pk)
        if pipeline_cancel(pipeline=pipeline, actor=request.user):
            messages.success(request, f"Pipeline {pk} cancelled.")
        else:
            messages.error(request, f"Pipeline {pk} has already ended.")
        return redirect("pipeline-detail", pk=pk)


class StepRetryView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int, name: str):
        pipeline = get_object_or_404(pipelines_list(), pk=pk)
        try:
            step_retry(pipeline=pipeline, name=name, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Step {name} launched again.")
        return redirect("pipeline-detail", pk=pk)
