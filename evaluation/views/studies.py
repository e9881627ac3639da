"""Researcher pages for clinician studies: create and assign, follow progress, close, unblind, results.

Before the explicit (audit-logged) unblinding a researcher sees progress only: how many items each
clinician submitted or flagged, never a rating or a statistic computed from ratings.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from core.forms import form_add_application_error
from core.services import audit_record
from core.views import ResearcherRequiredMixin
from evaluation import exports, figures
from evaluation.forms import ClinicianStudyForm, UnblindForm
from evaluation.models import ClinicianStudy
from evaluation.selectors.studies import study_progress, study_provenance, study_results
from evaluation.services.studies import (
    StudyError,
    clinician_study_close,
    clinician_study_create,
    clinician_study_unblind,
)
from evaluation.views.evaluations import download

TABLES = {
    "agreement": exports.study_agreement_csv,
    "cohen": exports.study_cohen_csv,
    "winrates": exports.study_win_rates_csv,
    "position": exports.study_position_balance_csv,
}


def study_bar_rows(results: dict) -> list[dict]:
    """Bar rows (rating-level shares per criterion) for the clinician win-rate figure."""
    return [
        {
            "criterion": criterion,
            **{key: entry[key] for key in ("share_a", "share_a_ci", "share_b", "share_b_ci")},
            "share_tie": entry["share_tie"],
            "share_tie_ci": entry["share_tie_ci"],
        }
        for criterion, entry in results["win_rates"].items()
    ]


class StudyCreateView(ResearcherRequiredMixin, TemplateView):
    template_name = "evaluation/study_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ClinicianStudyForm())
        return context

    def post(self, request):
        form = ClinicianStudyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = dict(form.cleaned_data)
        data["clinicians"] = list(data["clinicians"])
        try:
            study = clinician_study_create(created_by=request.user, **data)
        except StudyError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, f"Created {study.name} and assigned its items.")
        return redirect("study-detail", pk=study.pk)


class StudyDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "evaluation/study_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        study = get_object_or_404(
            ClinicianStudy.objects.select_related("criteria_set", "response_set_a", "response_set_b"),
            pk=kwargs["pk"],
        )
        results = study_results(study=study) if study.is_unblinded else None
        context.update(
            study=study,
            progress=study_progress(study=study),
            n_items=study.items.filter(is_calibration=False).count(),
            n_calibration=study.items.filter(is_calibration=True).count(),
            unblind_form=UnblindForm(),
            results=results,
            agreement_rows=[
                {"criterion": c, **results["agreement"][c]}
                for c in results["criteria"]
                if c in results["agreement"]
            ]
            if results
            else [],
            win_rows=study_bar_rows(results) if results else [],
            judge_rows=(
                [{"criterion": c, **v} for c, v in results["judge_agreement"]["criteria"].items()]
                if results and results["judge_agreement"]
                else []
            ),
        )
        return context


class StudyCloseView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        study = get_object_or_404(ClinicianStudy, pk=pk)
        if clinician_study_close(study=study, actor=request.user):
            messages.success(request, "Closed: clinicians can no longer change their ratings.")
        return redirect("study-detail", pk=pk)


class StudyUnblindView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        study = get_object_or_404(ClinicianStudy, pk=pk)
        form = UnblindForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Tick the confirmation to unblind.")
            return redirect("study-detail", pk=pk)
        try:
            clinician_study_unblind(study=study, actor=request.user, request=request)
        except StudyError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Unblinded. The results below name the models.")
        return redirect("study-detail", pk=pk)


def _unblinded_study(pk: int) -> ClinicianStudy:
    study = get_object_or_404(ClinicianStudy.objects.select_related("criteria_set"), pk=pk)
    if not study.is_unblinded:
        raise Http404("Results are available after the study is unblinded.")
    return study


class StudyFigureView(ResearcherRequiredMixin, View):
    """Clinician win rates per criterion (the study's Figure 5a), PNG or SVG."""

    def get(self, request, pk: int, fmt: str):
        if fmt not in figures.FORMATS:
            raise Http404("Figures come as png or svg.")
        study = _unblinded_study(pk)
        results = study_results(study=study)
        content = figures.win_rate_bars_figure(
            rows=study_bar_rows(results),
            label_a=study.label_a,
            label_b=study.label_b,
            title=f"Clinicians: {study.label_a} vs {study.label_b} per criterion",
            caption=figures.study_caption(study_provenance(study=study)),
            fmt=fmt,
            unit="clinician ratings",
        )
        as_file = request.GET.get("download") == "1"
        if as_file:
            audit_record(action="clinician_study.export", actor=request.user, obj=study, detail={"file": fmt})
        return download(
            content=content,
            content_type=figures.FORMATS[fmt],
            filename=f"clinician-study-{study.pk}-winrates.{fmt}",
            inline=not as_file,
        )


class StudyTableView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int, name: str):
        study = _unblinded_study(pk)
        if name not in TABLES:
            raise Http404("No such table.")
        audit_record(action="clinician_study.export", actor=request.user, obj=study, detail={"file": name})
        return download(
            content=TABLES[name](results=study_results(study=study)),
            content_type="text/csv",
            filename=f"clinician-study-{study.pk}-{name}.csv",
        )


class StudyResultsJsonView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int):
        study = _unblinded_study(pk)
        audit_record(action="clinician_study.export", actor=request.user, obj=study, detail={"file": "json"})
        return download(
            content=exports.results_json(
                results=study_results(study=study), provenance=study_provenance(study=study)
            ),
            content_type="application/json",
            filename=f"clinician-study-{study.pk}-results.json",
        )
