"""Researcher pages for head-to-head evaluations: list, create, follow, relaunch, figures and tables."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from core.forms import form_add_application_error
from core.services import audit_record
from core.views import ResearcherRequiredMixin
from evaluation import exports, figures
from evaluation.forms import EvaluationForm
from evaluation.models import Evaluation, JudgeKind
from evaluation.selectors.evaluations import (
    evaluation_counts,
    evaluation_provenance,
    evaluation_work_total,
    evaluations_list,
    failed_comparisons,
)
from evaluation.selectors.studies import studies_list
from evaluation.services.endpoint_test import evaluation_endpoint_test
from evaluation.services.evaluations import (
    EvaluationError,
    evaluation_cancel,
    evaluation_create,
    evaluation_launch,
)

TABLES = {
    "winrates": exports.evaluation_win_rates_csv,
    "averages": exports.evaluation_averages_csv,
    "matrix": exports.evaluation_matrix_csv,
}


def download(*, content: bytes, content_type: str, filename: str, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


class EvaluationListView(ResearcherRequiredMixin, TemplateView):
    """Head-to-head evaluations and clinician studies, newest first."""

    template_name = "evaluation/evaluation_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(evaluations=evaluations_list()[:50], studies=studies_list()[:50])
        return context


class EvaluationCreateView(ResearcherRequiredMixin, TemplateView):
    template_name = "evaluation/evaluation_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", EvaluationForm())
        return context

    def post(self, request):
        form = EvaluationForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            evaluation = evaluation_create(created_by=request.user, **form.service_arguments())
        except EvaluationError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, f"Created {evaluation.name}.")
        return redirect("evaluation-detail", pk=evaluation.pk)


class EvaluationEndpointTestView(EvaluationCreateView):
    """The form's "Test endpoint" button: one request with the pairwise prompt; nothing is created."""

    http_method_names = ["post"]

    def post(self, request):
        form = EvaluationForm(request.POST)
        form.fields["name"].required = False
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.service_arguments()
        try:
            probe = evaluation_endpoint_test(
                endpoint=data["endpoint"],
                judge_kind=data["judge_kind"],
                criteria_set=data["criteria_set"],
                response_sets=data["response_sets"],
                personas=data["personas"],
                split=data["split"],
                response_index=data["response_index"],
                actor=request.user,
            )
        except EvaluationError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        return self.render_to_response(self.get_context_data(form=form, probe=probe))


def _matrix_tables(results: dict) -> list[dict]:
    models = results.get("models", [])
    tables = []
    for criterion, matrix in results.get("matrices", {}).items():
        rows = [
            {
                "model": model,
                "cells": matrix["win_rate"][i],
                "average": matrix["average_win_rate"].get(model),
            }
            for i, model in enumerate(models)
        ]
        tables.append({"criterion": criterion, "rows": rows})
    return tables


class EvaluationDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "evaluation/evaluation_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        evaluation = get_object_or_404(
            Evaluation.objects.select_related("criteria_set", "job", "score_run"), pk=kwargs["pk"]
        )
        results = evaluation.results or {}
        pairs = results.get("pairs", [])
        try:
            pair_index = min(max(int(self.request.GET.get("pair", 0)), 0), max(len(pairs) - 1, 0))
        except ValueError:
            pair_index = 0
        context.update(
            evaluation=evaluation,
            counts=evaluation_counts(evaluation=evaluation),
            total=evaluation_work_total(evaluation=evaluation),
            results=results,
            pairs=pairs,
            pair_index=pair_index,
            pair=pairs[pair_index] if pairs else None,
            matrices=_matrix_tables(results),
            provenance=evaluation_provenance(evaluation=evaluation),
            failures=failed_comparisons(evaluation=evaluation, limit=20),
            is_reward=evaluation.judge_kind == JudgeKind.REWARD_MODEL,
            personas=evaluation.personas.count(),
        )
        return context


class EvaluationLaunchView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        evaluation = get_object_or_404(Evaluation, pk=pk)
        job = evaluation_launch(
            evaluation=evaluation, actor=request.user, retry_failed=request.POST.get("retry_failed") == "on"
        )
        messages.success(request, f"Queued job {job.pk}; finished comparisons are skipped.")
        return redirect("evaluation-detail", pk=pk)


class EvaluationCancelView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        evaluation = get_object_or_404(Evaluation, pk=pk)
        if evaluation_cancel(evaluation=evaluation, actor=request.user):
            messages.success(request, "Cancelled; a relaunch resumes after the stored comparisons.")
        else:
            messages.error(request, "Nothing to cancel.")
        return redirect("evaluation-detail", pk=pk)


def _evaluation_with_results(pk: int) -> Evaluation:
    evaluation = get_object_or_404(Evaluation.objects.select_related("criteria_set", "score_run"), pk=pk)
    if not evaluation.results:
        raise Http404("No results yet: the evaluation has not finished a run.")
    return evaluation


class EvaluationFigureView(ResearcherRequiredMixin, View):
    """`pareto` (safety vs empathy) or `bars` (per-criterion win rates of pair ?pair=N), PNG or SVG."""

    def get(self, request, pk: int, name: str, fmt: str):
        if fmt not in figures.FORMATS:
            raise Http404("Figures come as png or svg.")
        evaluation = _evaluation_with_results(pk)
        provenance = evaluation_provenance(evaluation=evaluation)
        results = evaluation.results
        if name == "pareto":
            if not results.get("pareto"):
                raise Http404("These results have no empathy and safety criteria.")
            content = figures.pareto_figure(results=results, provenance=provenance, fmt=fmt)
        elif name == "bars":
            pairs = results.get("pairs", [])
            index = request.GET.get("pair", "0")
            if not index.isdecimal() or int(index) >= len(pairs):
                raise Http404("No such model pair.")
            pair = pairs[int(index)]
            content = figures.win_rate_bars_figure(
                rows=figures.pair_bar_rows(pair),
                label_a=pair["model_a"],
                label_b=pair["model_b"],
                title=f"{pair['model_a']} vs {pair['model_b']}: win rates per criterion",
                caption=figures.evaluation_caption(provenance),
                fmt=fmt,
            )
            name = f"bars-pair{index}"
        else:
            raise Http404("No such figure.")
        as_file = request.GET.get("download") == "1"
        if as_file:  # pages embed the figures too; only downloads are exports
            audit_record(
                action="evaluation.export", actor=request.user, obj=evaluation, detail={"file": name}
            )
        return download(
            content=content,
            content_type=figures.FORMATS[fmt],
            filename=f"evaluation-{evaluation.pk}-{name}.{fmt}",
            inline=not as_file,
        )


class EvaluationTableView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int, name: str):
        evaluation = _evaluation_with_results(pk)
        if name not in TABLES:
            raise Http404("No such table.")
        audit_record(action="evaluation.export", actor=request.user, obj=evaluation, detail={"file": name})
        return download(
            content=TABLES[name](
                results=evaluation.results, provenance=evaluation_provenance(evaluation=evaluation)
            ),
            content_type="text/csv",
            filename=f"evaluation-{evaluation.pk}-{name}.csv",
        )


class EvaluationResultsJsonView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int):
        evaluation = _evaluation_with_results(pk)
        audit_record(action="evaluation.export", actor=request.user, obj=evaluation, detail={"file": "json"})
        return download(
            content=exports.results_json(
                results=evaluation.results, provenance=evaluation_provenance(evaluation=evaluation)
            ),
            content_type="application/json",
            filename=f"evaluation-{evaluation.pk}-results.json",
        )
