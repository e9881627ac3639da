"""Researcher pages: studies (create, edit, open, close), the dashboard, personas, objective weights,
exports, consent texts and the questionnaire editor. Thin: forms validate, services write."""

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView, View

from core.forms import form_add_application_error
from core.services import audit_record
from core.views import ResearcherRequiredMixin
from survey_app.analysis.charts import horizontal_bars
from survey_app.analysis.disclosure import SMALL_CELL_MAX
from survey_app.forms import (
    ConsentVersionForm,
    ExportForm,
    FlagReviewForm,
    InstrumentEditForm,
    PersonaSelectionForm,
    StudyForm,
    StudyStatusForm,
    WeightDerivationForm,
)
from survey_app.models import ConsentVersion, Instrument, ObjectiveWeightSet, PersonaSplit, SafetyFlag, Study
from survey_app.selectors import (
    cross_tabulation,
    demographic_breakdowns,
    flagged_text,
    hidden_cell_count,
    importance_summary,
    instrument_current,
    objective_weight_sets,
    primary_preference_shares,
    safety_flags,
    studies_overview,
    study_progress,
)
from survey_app.services.derived import (
    DerivationError,
    personas_build,
    personas_select,
    weight_sets_derive,
)
from survey_app.services.exports import personas_export, survey_export_request
from survey_app.services.studies import (
    consent_version_publish,
    instrument_publish,
    safety_flag_review,
    study_create,
    study_set_status,
    study_update,
)


class StudyFromUrlMixin:
    """Views under a study's URL find it with `study()`."""

    def study(self) -> Study:
        return get_object_or_404(
            Study.objects.select_related("criteria_set", "consent"), slug=self.kwargs["slug"]
        )


class SurveyResearcherView(StudyFromUrlMixin, ResearcherRequiredMixin, TemplateView):
    """A researcher page of the survey."""


class SurveyResearcherAction(StudyFromUrlMixin, ResearcherRequiredMixin, View):
    """A researcher's form post with no page of its own: a GET is a 405."""


class StudyListView(SurveyResearcherView):
    template_name = "survey_app/researcher/study_list.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "studies": studies_overview()}


class StudyCreateView(SurveyResearcherView):
    template_name = "survey_app/researcher/study_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", StudyForm())
        return context

    def post(self, request):
        form = StudyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        study = study_create(actor=request.user, fields=form.cleaned_data)
        messages.success(
            request, f"Created {study.title} as a draft. Open it when you are ready for participants."
        )
        return redirect("survey-study-detail", slug=study.slug)


class StudyEditView(SurveyResearcherView):
    template_name = "survey_app/researcher/study_form.html"

    def form(self, study: Study, data=None) -> StudyForm:
        return StudyForm(data, instance=study, locked=study.participants.exists())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        study = self.study()
        context.setdefault("form", self.form(study))
        context["study"] = study
        return context

    def post(self, request, slug: str):
        study = self.study()
        form = self.form(Study.objects.get(pk=study.pk), request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        study_update(study=study, actor=request.user, fields=form.cleaned_data)
        messages.success(request, "Study settings saved.")
        return redirect("survey-study-detail", slug=study.slug)


class StudyStatusView(SurveyResearcherAction):
    def post(self, request, slug: str):
        study = self.study()
        form = StudyStatusForm(request.POST)
        if form.is_valid() and study_set_status(
            study=study, actor=request.user, status=form.cleaned_data["status"]
        ):
            messages.success(request, f"The study is now {study.get_status_display().lower()}.")
        return redirect("survey-study-detail", slug=slug)


class StudyDashboardView(SurveyResearcherView):
    template_name = "survey_app/researcher/study_dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        study = self.study()
        importance = importance_summary(study=study)
        preferences, rankings = primary_preference_shares(study=study)
        link = self.request.build_absolute_uri(reverse("survey-entry", args=[study.slug]))
        flags = list(safety_flags(study=study))
        breakdowns = demographic_breakdowns(study=study)
        hidden, nonempty = hidden_cell_count(breakdowns=breakdowns)
        context.update(
            study=study,
            progress=study_progress(study=study),
            importance=importance,
            importance_chart=horizontal_bars(
                rows=[
                    (row.name, row.mean or 0, f"{row.mean} (n={row.n})" if row.n else "no ratings")
                    for row in importance
                ],
                max_value=5,
                ticks=[0, 1, 2, 3, 4, 5],
            ),
            preferences=preferences,
            rankings=rankings,
            preference_chart=horizontal_bars(
                rows=[(row.name, row.share, f"{row.share}% (n={row.count})") for row in preferences],
                max_value=100,
                ticks=[0, 25, 50, 75, 100],
            ),
            breakdowns=breakdowns,
            hidden_cells=hidden,
            nonempty_cells=nonempty,
            cross_tab=cross_tabulation(study=study),
            small_cell_max=SMALL_CELL_MAX,
            open_flags=[(flag, flagged_text(flag=flag)) for flag in flags if flag.reviewed_at is None],
            reviewed_flags=[flag for flag in flags if flag.reviewed_at is not None],
            study_link=link,
            prolific_link=f"{link}?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}&SESSION_ID={{{{%SESSION_ID%}}}}",
            export_form=ExportForm(),
            weight_set_count=objective_weight_sets(study=study).count(),
            persona_count=study.personas.count(),
        )
        return context


class StudyExportView(SurveyResearcherAction):
    def post(self, request, slug: str):
        study = self.study()
        form = ExportForm(request.POST)
        form.is_valid()
        job = survey_export_request(
            study=study,
            actor=request.user,
            include_free_text=form.cleaned_data.get("include_free_text", False),
            request=request,
        )
        return HttpResponseRedirect(reverse("job-detail", args=[job.pk]))


class SafetyFlagReviewView(SurveyResearcherAction):
    def post(self, request, slug: str, pk: int):
        flag = get_object_or_404(SafetyFlag, pk=pk, participant__study__slug=slug)
        form = FlagReviewForm(request.POST)
        if form.is_valid() and safety_flag_review(
            flag=flag, actor=request.user, note=form.cleaned_data["note"]
        ):
            messages.success(request, f"Marked the flag on {flag.participant.reference} as followed up.")
        return redirect(reverse("survey-study-detail", args=[slug]) + "#safety")


class PersonaListView(SurveyResearcherView):
    template_name = "survey_app/researcher/personas.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        study = self.study()
        split = self.request.GET.get("split", "")
        personas = study.personas.all()
        if split in (PersonaSplit.TRAIN, PersonaSplit.TEST):
            personas = personas.filter(split=split)
        elif split == "selected":
            personas = personas.filter(selected=True)
        context.update(
            study=study,
            split=split,
            page=Paginator(personas, 25).get_page(self.request.GET.get("page")),
            counts={
                "all": study.personas.count(),
                "selected": study.personas.filter(selected=True).count(),
                "train": study.personas.filter(split=PersonaSplit.TRAIN).count(),
                "test": study.personas.filter(split=PersonaSplit.TEST).count(),
            },
            completes=study_progress(study=study).completes,
        )
        context.setdefault("selection_form", PersonaSelectionForm())
        return context

    def post(self, request, slug: str):
        study = self.study()
        if request.POST.get("action") == "build":
            count = personas_build(study=study, actor=request.user)
            messages.success(request, f"Wrote {count} personas from complete responses.")
            return redirect("survey-personas", slug=slug)
        form = PersonaSelectionForm(request.POST)
        if form.is_valid():
            try:
                summary = personas_select(study=study, actor=request.user, **form.cleaned_data)
            except DerivationError as error:
                form_add_application_error(form, error)
            else:
                messages.success(
                    request,
                    f"Selected {summary['selected']} personas: "
                    f"{summary['train']} train, {summary['test']} test.",
                )
                return redirect("survey-personas", slug=slug)
        return self.render_to_response(self.get_context_data(selection_form=form))


class PersonaExportView(SurveyResearcherView):
    """Selected personas as de-identified JSON Lines (survey_app.services.exports.personas_export)."""

    def get(self, request, slug: str):
        study = self.study()
        body = personas_export(study=study, actor=request.user, request=request)
        response = HttpResponse(body, content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="personas-{study.slug}.jsonl"'
        return response


class WeightSetListView(SurveyResearcherView):
    template_name = "survey_app/researcher/weights.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        study = self.study()
        context.update(
            study=study,
            weight_set_rows=[
                (weight_set, _weight_rows(weight_set)) for weight_set in objective_weight_sets(study=study)
            ],
        )
        context.setdefault("form", WeightDerivationForm())
        return context

    def post(self, request, slug: str):
        study = self.study()
        form = WeightDerivationForm(request.POST)
        if form.is_valid():
            try:
                created = weight_sets_derive(study=study, actor=request.user, **form.cleaned_data)
            except DerivationError as error:
                form_add_application_error(form, error)
            else:
                messages.success(request, f"Derived {len(created)} weight sets.")
                return redirect("survey-weights", slug=slug)
        return self.render_to_response(self.get_context_data(form=form))


def _weight_rows(weight_set: ObjectiveWeightSet) -> list[tuple[str, float, float, float]]:
    """(criterion, mean importance, normalised, final weight): the derivation, one row per criterion."""
    derivation = weight_set.derivation
    return [
        (key, derivation["mean_importance"][key], derivation["normalised"][key], weight)
        for key, weight in weight_set.weights.items()
    ]


class WeightSetExportView(SurveyResearcherView):
    def get(self, request, slug: str, pk: int):
        weight_set = get_object_or_404(ObjectiveWeightSet, pk=pk, study__slug=slug)
        body = {
            "name": weight_set.name,
            "study": slug,
            "scope": weight_set.scope,
            "weights": weight_set.weights,
            "safety_floor": weight_set.safety_floor,
            "derivation": weight_set.derivation,
            "created_at": weight_set.created_at.isoformat(),
        }
        audit_record(action="survey.weights_export", actor=request.user, obj=weight_set, request=request)
        response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="objective-weights-{weight_set.pk}.json"'
        return response


class ConsentVersionsView(SurveyResearcherView):
    template_name = "survey_app/researcher/consent_versions.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        latest = ConsentVersion.objects.order_by("-version").first()
        context["versions"] = ConsentVersion.objects.all()
        context.setdefault(
            "form",
            ConsentVersionForm(
                initial={"title": latest.title, "body": latest.body, "agreement": latest.agreement}
                if latest
                else None
            ),
        )
        return context

    def post(self, request):
        form = ConsentVersionForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        consent = consent_version_publish(actor=request.user, **form.cleaned_data)
        messages.success(
            request,
            f"Published consent version {consent.version}. Choose it in a study's settings to use it.",
        )
        return redirect("survey-consent")


class InstrumentEditView(SurveyResearcherView):
    template_name = "survey_app/researcher/instrument_edit.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            instrument = instrument_current()
        except Instrument.DoesNotExist as error:
            raise Http404("No questionnaire has been published.") from error
        form = context.setdefault("form", InstrumentEditForm(instrument=instrument))
        rows = form.item_rows()
        context.update(
            instrument=instrument,
            pages=[(page, [row for row in rows if row[0].page == page["key"]]) for page in instrument.pages],
            history=Instrument.objects.filter(is_current=False),
        )
        return context

    def post(self, request):
        form = InstrumentEditForm(request.POST, instrument=instrument_current())
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        instrument = instrument_publish(actor=request.user, edits=form.edits())
        messages.success(
            request, f"Published questionnaire version {instrument.version}. New participants answer it."
        )
        return redirect("survey-instrument")
