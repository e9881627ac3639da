"""Researcher pages: the preference-data overview, question banks, response sets, items and personas."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView, View

from annotation.forms import PersonaImportForm, QuestionBankImportForm, ResponseSetImportForm
from annotation.models import QuestionBank, ResponseSet, SplitScope
from annotation.selectors.campaigns import campaigns_list
from annotation.selectors.judging import judge_jobs_list, personas_list
from annotation.selectors.rankings import item_detail
from annotation.selectors.responses import question_banks_list, rankable_questions, response_sets_list
from annotation.selectors.snapshots import freeze_jobs_recent, snapshots_list
from annotation.services.agreement import AgreementScope, agreement_for
from annotation.services.banks import (
    AlreadyImportedError,
    BankImportError,
    question_bank_import,
    response_set_import,
)
from annotation.services.personas import (
    PersonaImportError,
    judge_personas_from_survey,
    judge_personas_import,
)
from core.forms import form_add_application_error
from core.views import ResearcherRequiredMixin
from criteria.models import CriteriaSet

PAGE = 50


class AnnotationHomeView(ResearcherRequiredMixin, TemplateView):
    """Everything on the way from a question bank to a training snapshot, with what to do next."""

    template_name = "annotation/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            banks=question_banks_list()[:10],
            response_sets=response_sets_list()[:10],
            persona_count=personas_list().count(),
            campaigns=campaigns_list()[:10],
            judge_jobs=judge_jobs_list()[:10],
            snapshots=snapshots_list()[:10],
            freeze_jobs=freeze_jobs_recent(),
        )
        return context


class QuestionBankImportView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/bank_import.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", QuestionBankImportForm())
        return context

    def post(self, request):
        form = QuestionBankImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        data = form.cleaned_data
        try:
            result = question_bank_import(
                name=data["name"],
                files=[(upload.name[:200], upload.read()) for upload in data["file"]],
                source=data["source"],
                created_by=request.user,
                file_format=data["file_format"] or None,
                split_seed=data["split_seed"],
                test_count=data["test_count"],
                test_fraction=data["test_fraction"],
                stratify_by=data["stratify_by"] or None,
                min_chars=data["min_chars"],
                max_chars=data["max_chars"],
                import_responses=data["import_responses"],
                max_responses_per_question=data["max_responses_per_question"],
            )
        except BankImportError as exc:
            form_add_application_error(form, exc, prefix="Nothing was imported: ")
            existing = exc.existing if isinstance(exc, AlreadyImportedError) else None
            return self.render_to_response(self.get_context_data(form=form, already_imported=existing))
        report = result.report
        merged = (
            f" {report['rows_merged']} repeated rows merged; "
            f"{report['merged_disagreeing']} with disagreeing labels."
            if report["rows_merged"]
            else ""
        )
        counts = f"{report['rows_accepted']} questions ({report['rows_rejected']} rows rejected)"
        messages.success(request, f"Imported {counts}.{merged}")
        return redirect("annotation-bank", pk=result.bank.pk)


class QuestionBankDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/bank_detail.html"

    def bank(self) -> QuestionBank:
        return get_object_or_404(QuestionBank, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bank = self.bank()
        context.update(
            bank=bank,
            report=bank.import_report,
            page=Paginator(bank.questions.all(), PAGE).get_page(self.request.GET.get("page")),
            response_sets=response_sets_list(bank=bank),
        )
        context.setdefault("response_form", ResponseSetImportForm())
        return context


class ResponseSetImportView(QuestionBankDetailView):
    def post(self, request, pk: int):
        bank = self.bank()
        form = ResponseSetImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(response_form=form))
        data = form.cleaned_data
        upload = data["file"]
        try:
            response_set, report = response_set_import(
                bank=bank,
                name=data["name"],
                data=upload.read(),
                source=data["source"],
                created_by=request.user,
                file_name=upload.name[:200],
                file_format=data["file_format"] or None,
                response_origin=data["response_origin"],
                max_responses_per_question=data["max_responses_per_question"],
            )
        except BankImportError as exc:
            form_add_application_error(form, exc, prefix="Nothing was imported: ")
            existing = exc.existing if isinstance(exc, AlreadyImportedError) else None
            return self.render_to_response(
                self.get_context_data(response_form=form, already_imported=existing)
            )
        messages.success(request, f"Imported {report['rows_accepted']} responses into {response_set.name}.")
        return redirect("annotation-response-set", pk=response_set.pk)


class ResponseSetDetailView(ResearcherRequiredMixin, TemplateView):
    """Coverage and agreement per criterion, and the questions (items) of a response set."""

    template_name = "annotation/response_set_detail.html"
    SOURCES = (("all", "Judges and annotators"), ("judges", "Persona judges"), ("humans", "Annotators"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        response_set = get_object_or_404(
            ResponseSet.objects.select_related("bank", "training_run"), pk=kwargs["pk"]
        )
        criteria_sets = list(CriteriaSet.objects.filter(is_current=True).prefetch_related("criteria"))
        chosen_key = self.request.GET.get("criteria_set", "therapeutic")
        criteria_set = next(
            (cs for cs in criteria_sets if cs.key == chosen_key), criteria_sets[0] if criteria_sets else None
        )
        source = self.request.GET.get("source", "all")
        split = self.request.GET.get("split", SplitScope.ALL)
        if split not in SplitScope.values:
            split = SplitScope.ALL
        judge_job_ids = (
            list(response_set.judge_jobs.values_list("pk", flat=True)) if source != "humans" else []
        )
        campaign_ids = list(response_set.campaigns.values_list("pk", flat=True)) if source != "judges" else []
        agreement = None
        if criteria_set is not None and (judge_job_ids or campaign_ids):
            agreement = agreement_for(
                scope=AgreementScope.of(
                    response_set=response_set,
                    criteria_set=criteria_set,
                    judge_job_ids=judge_job_ids,
                    campaign_ids=campaign_ids,
                    split=split,
                ),
                actor=self.request.user,
            )
        context.update(
            response_set=response_set,
            criteria_sets=criteria_sets,
            criteria_set=criteria_set,
            source=source,
            sources=self.SOURCES,
            split=split,
            splits=SplitScope.choices,
            agreement=agreement,
            has_sources=response_set.judge_jobs.exists() or response_set.campaigns.exists(),
            page=Paginator(rankable_questions(response_set=response_set, split=split), PAGE).get_page(
                self.request.GET.get("page")
            ),
        )
        return context


class ItemView(ResearcherRequiredMixin, TemplateView):
    """One question of a response set with every ranking it received (human and judge) and the aggregate."""

    template_name = "annotation/item_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        response_set = get_object_or_404(ResponseSet.objects.select_related("bank"), pk=kwargs["pk"])
        question = response_set.bank.questions.filter(pk=kwargs["question_pk"]).first()
        if question is None:
            raise Http404("No such question in this response set's bank.")
        key = self.request.GET.get("criteria_set", "therapeutic")
        criteria_set = (
            CriteriaSet.objects.filter(key=key, is_current=True).prefetch_related("criteria").first()
        )
        if criteria_set is None:
            raise Http404("No such criteria set.")
        detail = item_detail(
            response_set=response_set, question_id=question.pk, criteria_keys=criteria_set.criterion_keys
        )
        labels = {str(response.pk): f"#{response.index + 1}" for response in detail.responses}
        context.update(
            response_set=response_set,
            question=question,
            criteria_set=criteria_set,
            detail=detail,
            human_rows=[(task, detail.human.get(task.pk, {})) for task in detail.tasks],
            aggregates=[
                {
                    "criterion": result.criterion,
                    "scores": list(zip([labels[r] for r in result.response_ids], result.scores, strict=True)),
                    "best": labels[result.response_ids[result.best_index]] if result.has_preference else None,
                    "worst": labels[result.response_ids[result.worst_index]]
                    if result.has_preference
                    else None,
                    "n_valid": result.n_valid,
                    "kendall_w": result.kendall_w,
                }
                for result in detail.aggregates
            ],
        )
        return context


class PersonaListView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/personas.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page"] = Paginator(personas_list(), PAGE).get_page(self.request.GET.get("page"))
        context.setdefault("form", PersonaImportForm())
        return context

    def post(self, request):
        form = PersonaImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            report = judge_personas_import(
                data=form.payload(),
                file_format=form.cleaned_data["file_format"],
                default_split=form.cleaned_data["default_split"],
                created_by=request.user,
            )
        except PersonaImportError as exc:
            form_add_application_error(form, exc, prefix="Nothing was imported: ")
            return self.render_to_response(self.get_context_data(form=form))
        return self.render_to_response(self.get_context_data(form=PersonaImportForm(), report=report))


class PersonasFromSurveyView(ResearcherRequiredMixin, View):
    def post(self, request):
        result = judge_personas_from_survey(actor=request.user)
        messages.success(
            request, f"Copied {result['created']} survey personas ({result['unchanged']} were already here)."
        )
        return redirect(reverse("annotation-personas"))
