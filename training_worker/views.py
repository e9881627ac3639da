"""Researcher pages for training runs: list, detail with a live loss curve, comparison, cancel, downloads."""

import json

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import DetailView, FormView, ListView, TemplateView, View

from core.charts import Series, line_chart_svg
from core.forms import form_add_application_error
from core.models import Status
from core.services import audit_record
from core.views import ResearcherRequiredMixin
from training_worker.forms import RunLaunchForm
from training_worker.launch import METHOD_FIELDS, LaunchError, training_run_launch
from training_worker.models import TrainingMethod, TrainingRun
from training_worker.selectors import run_loss_series, runs_list
from training_worker.services import training_run_cancel

MAX_COMPARED = 8


class RunListView(ResearcherRequiredMixin, ListView):
    template_name = "training_worker/run_list.html"
    paginate_by = 50
    context_object_name = "runs"

    def get_queryset(self):
        return runs_list(status=self.request.GET.get("status"), method=self.request.GET.get("method"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(statuses=Status.choices, methods=TrainingMethod.choices, filters=self.request.GET)
        return context


class RunLaunchView(ResearcherRequiredMixin, FormView):
    """Pick method, data, criteria, weights and hyper-parameters; refused before queueing if it cannot run."""

    template_name = "training_worker/run_launch.html"
    form_class = RunLaunchForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["method_fields"] = json.dumps(
            {method: list(fields) for method, fields in METHOD_FIELDS.items()}
        )
        return context

    def form_valid(self, form):
        try:
            run = training_run_launch(request=form.launch_request(), created_by=self.request.user)
        except LaunchError as exc:
            form_add_application_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Queued {run.name}. It starts when a GPU worker is free.")
        return redirect("run-detail", pk=run.pk)


class RunDetailView(ResearcherRequiredMixin, DetailView):
    template_name = "training_worker/run_detail.html"
    context_object_name = "run"

    def get_queryset(self):
        return TrainingRun.objects.prefetch_related("parents", "children", "artifacts", "inputs")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.object
        context["loss_chart"] = line_chart_svg(
            title="Training loss",
            series=[Series(run.name, run_loss_series(run=run))],
            x_label="step",
            y_label="loss",
        )
        context["progress_percent"] = round(100 * run.step / run.total_steps) if run.total_steps else 0
        return context


class RunCancelView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        run = get_object_or_404(TrainingRun, pk=pk)
        if training_run_cancel(run=run, actor=request.user):
            messages.success(request, f"Cancelled {run.name}.")
        else:
            messages.error(request, f"{run.name} has already ended.")
        return redirect("run-detail", pk=pk)


class RunArtifactDownloadView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int, artifact_id: int):
        run = get_object_or_404(TrainingRun, pk=pk)
        artifact = get_object_or_404(run.artifacts, pk=artifact_id)
        audit_record(
            action="training_run.artifact_download",
            actor=request.user,
            obj=run,
            request=request,
            detail={"artifact": artifact.name},
        )
        filename = f"run-{run.pk}-{artifact.name}"
        return FileResponse(artifact.file.open("rb"), as_attachment=True, filename=filename)


class RunCompareView(ResearcherRequiredMixin, TemplateView):
    """Runs side by side: configuration differences, final metrics and overlaid loss curves."""

    template_name = "training_worker/run_compare.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            ids = [int(value) for value in self.request.GET.getlist("ids") if value]
        except ValueError as exc:
            raise Http404("Run ids must be numbers.") from exc
        runs = list(TrainingRun.objects.filter(pk__in=ids[:MAX_COMPARED]).order_by("pk"))
        config_keys = sorted({key for run in runs for key in run.config})
        metric_keys = sorted({key for run in runs for key in run.result.get("metrics", {})})
        context.update(
            runs=runs,
            config_rows=[(key, [run.config.get(key) for run in runs]) for key in config_keys],
            metric_rows=[
                (key, [run.result.get("metrics", {}).get(key) for run in runs]) for key in metric_keys
            ],
            loss_chart=line_chart_svg(
                title="Training loss",
                series=[Series(f"#{run.pk} {run.name}", run_loss_series(run=run)) for run in runs],
                x_label="step",
                y_label="loss",
            ),
            all_runs=TrainingRun.objects.all()[:200],
        )
        return context
