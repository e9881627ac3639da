"""Researcher pages for training runs (list, detail with live charts of every logged metric, comparison,
cancel, downloads) and the model registry."""

import json

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import DetailView, FormView, ListView, TemplateView, View

from core.forms import form_add_application_error
from core.models import Status
from core.services import audit_record
from core.views import ResearcherRequiredMixin
from training_worker.artifact_files import artifact_download_name, artifact_extension, artifact_file
from training_worker.base_models import BaseModelError, base_model_register
from training_worker.display import Row, key_value_rows, shown
from training_worker.forms import BaseModelForm, RunLaunchForm
from training_worker.launch import METHOD_FIELDS, LaunchError, training_run_launch
from training_worker.model_picker import policy_runs
from training_worker.models import TrainingMethod, TrainingRun
from training_worker.run_charts import SPLIT_LABELS, loss_chart, metric_charts, run_series
from training_worker.selectors import base_models_list, metrics_by_split, runs_list
from training_worker.services import training_run_cancel


def _metric_tables(metrics: dict, *, unprefixed: str) -> list[tuple[str, list[Row]]]:
    """Metric tables by split, values formatted (nested values as nested rows)."""
    return [
        (SPLIT_LABELS.get(split, split), [Row(key, shown(value)) for key, value in rows])
        for split, rows in metrics_by_split(metrics, unprefixed=unprefixed)
    ]


def _charts_context(run: TrainingRun) -> dict:
    series = run_series([run])
    return {"loss_chart": loss_chart(series[run.pk]), "chart_groups": metric_charts([run], series)}


MAX_COMPARED = 8
# The run page shows the result's metrics in their own tables and its artifacts (worker paths) as downloads.
RESULT_SHOWN_ELSEWHERE = ("metrics", "artifacts")


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

    def get_initial(self):
        # "Use this model" links arrive with ?model=run:<id> (or base:<id>) to preselect the picker.
        return {"model": self.request.GET.get("model", "")}

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
        context.update(
            **_charts_context(run),
            progress_percent=round(100 * run.step / run.total_steps) if run.total_steps else 0,
            latest_metrics=[
                (f"{split} (step {run.step})", rows)
                for split, rows in _metric_tables(run.last_metrics, unprefixed="train")
            ],
            final_metrics=_metric_tables(run.result.get("metrics", {}), unprefixed="whole run"),
            result_details=key_value_rows(
                {key: value for key, value in run.result.items() if key not in RESULT_SHOWN_ELSEWHERE}
            ),
            config_rows=key_value_rows(run.config),
            artifact_files=[artifact_file(artifact=artifact) for artifact in run.artifacts.all()],
            is_policy=policy_runs().filter(pk=run.pk).exists(),
        )
        return context


class RunChartsView(ResearcherRequiredMixin, DetailView):
    """The run page's charts alone, which the page fetches to redraw them while the run trains."""

    template_name = "training_worker/_run_charts.html"
    model = TrainingRun
    context_object_name = "run"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_charts_context(self.object)}


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
        filename = artifact_download_name(artifact=artifact, extension=artifact_extension(artifact=artifact))
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
        metric_keys = {key for run in runs for key in run.result.get("metrics", {})}
        splits = metrics_by_split(dict.fromkeys(metric_keys), unprefixed="whole run")
        context.update(
            runs=runs,
            config_rows=[(key, [shown(run.config.get(key)) for run in runs]) for key in config_keys],
            metric_rows=[
                (split, key, [shown(run.result.get("metrics", {}).get(key)) for run in runs])
                for split, keys in splits
                for key, _ in keys
            ],
            chart_groups=metric_charts(runs, run_series(runs)) if runs else [],
            all_runs=TrainingRun.objects.all()[:200],
        )
        return context


class BaseModelListView(ResearcherRequiredMixin, TemplateView):
    """The model registry: registered starting models, and a form to register one."""

    template_name = "training_worker/base_model_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(models=base_models_list(), policies=policy_runs()[:50])
        context.setdefault("form", BaseModelForm())
        return context

    def post(self, request):
        form = BaseModelForm(request.POST)
        if form.is_valid():
            try:
                model = base_model_register(created_by=request.user, **form.cleaned_data)
            except BaseModelError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(request, f"Registered {model.name}.")
                return redirect("base-model-list")
        return self.render_to_response(self.get_context_data(form=form), status=400)
