"""Human ranking pages: researchers create and follow campaigns; annotators rank their own tasks.

The ranking page works without JavaScript (a rank number per response and criterion); static
annotation/ranking.js turns each criterion into a list ordered by drag and drop or by keyboard.
"""

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from annotation.forms import CampaignForm, RankingSkipForm
from annotation.models import RankingCampaign, RankingTask
from annotation.selectors.campaigns import (
    annotator_progress,
    annotator_queue,
    campaigns_list,
    task_criteria,
    task_responses_shown,
)
from annotation.services.agreement import AgreementScope, agreement_for
from annotation.services.ranking import (
    RankingError,
    ranking_campaign_close,
    ranking_campaign_create,
    ranking_task_skip,
    ranking_task_submit,
)
from core.forms import form_add_application_error
from core.roles import Role
from core.views import ResearcherRequiredMixin, RoleRequiredMixin


class CampaignCreateView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/campaign_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", CampaignForm())
        return context

    def post(self, request):
        form = CampaignForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            campaign = ranking_campaign_create(created_by=request.user, **form.cleaned_data)
        except RankingError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, f"Created {campaign.name} and assigned its tasks.")
        return redirect("annotation-campaign", pk=campaign.pk)


class CampaignDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/campaign_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = get_object_or_404(campaigns_list(), pk=kwargs["pk"])
        context.update(
            campaign=campaign,
            agreement=agreement_for(
                scope=AgreementScope.of_campaign(campaign),
                actor=self.request.user,
            ),
            flagged=campaign.tasks.filter(flagged_harmful=True).select_related("question", "annotator")[:50],
            skipped=campaign.tasks.filter(state=RankingTask.State.SKIPPED).select_related(
                "question", "annotator"
            )[:50],
        )
        return context


class CampaignCloseView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        campaign = get_object_or_404(RankingCampaign, pk=pk)
        ranking_campaign_close(campaign=campaign, actor=request.user)
        messages.success(request, f"Closed {campaign.name}; no further rankings are accepted.")
        return redirect("annotation-campaign", pk=pk)


class AnnotatorView(RoleRequiredMixin):
    roles = (Role.ANNOTATOR,)

    def own_task(self, pk: int) -> RankingTask:
        task = RankingTask.objects.select_related("campaign__criteria_set", "question").filter(pk=pk).first()
        if task is None or task.annotator_id != self.request.user.pk:
            raise Http404("No such task.")
        return task


class AnnotatorHomeView(AnnotatorView, TemplateView):
    """The annotator's campaigns, their progress, and where to resume."""

    template_name = "annotation/annotator_home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            campaigns=annotator_progress(user=self.request.user),
            queue=annotator_queue(user=self.request.user),
        )
        return context


def _display_ranks(post, criteria, k: int) -> tuple[dict[str, list[object]], dict[str, list[str]]]:
    """Ranks from the form (fields rank-<criterion>-<position>), and the fields that were not numbers."""
    rankings: dict[str, list[object]] = {}
    errors: dict[str, list[str]] = {}
    for criterion in criteria:
        values: list[object] = []
        for position in range(1, k + 1):
            raw = post.get(f"rank-{criterion.key}-{position}", "").strip()
            values.append(int(raw) if raw.isdigit() and len(raw) < 4 else raw)
        if any(not isinstance(value, int) for value in values):
            errors[criterion.key] = [f"Give every response a rank from 1 to {k}."]
        rankings[criterion.key] = values
    return rankings, errors


def _error_summary(
    criteria, errors: dict[str, list[str]], skip_form: RankingSkipForm
) -> list[tuple[str, str]]:
    """(element id, message) pairs for the error summary: each criterion's messages link to its first rank,
    the skip form's to its fields, anything else to the ranking form."""
    entries = [
        (f"rank-{criterion.key}-1", f"{criterion.name}: {message}")
        for criterion in criteria
        for message in errors.get(criterion.key, [])
    ]
    keys = {criterion.key for criterion in criteria}
    entries += [
        ("ranking-form", message) for key, found in errors.items() if key not in keys for message in found
    ]
    entries += [
        (field.auto_id, f"{field.label}: {message}") for field in skip_form for message in field.errors
    ]
    return entries


class RankingTaskView(AnnotatorView, TemplateView):
    template_name = "annotation/ranking_task.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        task = self.own_task(kwargs["pk"])
        shown = task_responses_shown(task=task)
        criteria = task_criteria(task=task)
        submitted = kwargs.get("submitted") or {}
        errors = kwargs.get("errors") or {}
        keys = {criterion.key for criterion in criteria}
        skip_form = kwargs.get("skip_form") or RankingSkipForm()
        context.update(
            task=task,
            campaign=task.campaign,
            responses=shown,
            criteria=[
                {
                    "criterion": criterion,
                    "rows": [
                        (
                            position,
                            response,
                            (submitted.get(criterion.key) or [""] * len(shown))[position - 1],
                        )
                        for position, response in enumerate(shown, start=1)
                    ],
                    "errors": errors.get(criterion.key, []),
                }
                for criterion in criteria
            ],
            other_errors=[message for key, found in errors.items() if key not in keys for message in found],
            error_summary=_error_summary(criteria, errors, skip_form),
            skip_form=skip_form,
            progress=next(
                (p for p in annotator_progress(user=self.request.user) if p.campaign.pk == task.campaign_id),
                None,
            ),
        )
        return context

    def post(self, request, pk: int):
        task = self.own_task(pk)
        criteria = task_criteria(task=task)
        rankings, errors = _display_ranks(request.POST, criteria, len(task.response_order))
        if not errors:
            try:
                ranking_task_submit(
                    task=task,
                    annotator=request.user,
                    rankings=rankings,
                    flagged_harmful=request.POST.get("flagged_harmful") == "on",
                    flag_note=request.POST.get("flag_note", ""),
                    comment=request.POST.get("comment", ""),
                )
            except RankingError as exc:
                errors = exc.field_errors or {NON_FIELD_ERRORS: [exc.message]}
        if errors:
            context = self.get_context_data(pk=pk, errors=errors, submitted=rankings)
            return self.render_to_response(context, status=400)
        messages.success(request, "Thank you, your ranking is saved.")
        return _next(request, task)


class RankingTaskSkipView(AnnotatorView, View):
    def post(self, request, pk: int):
        task = self.own_task(pk)
        form = RankingSkipForm(request.POST)
        if form.is_valid():
            try:
                ranking_task_skip(task=task, annotator=request.user, **form.cleaned_data)
            except RankingError as exc:
                messages.error(request, str(exc))
                return redirect("annotator-task", pk=pk)
            messages.success(request, "Skipped. Thank you for telling us why.")
            return _next(request, task)
        view = RankingTaskView()
        view.setup(request, pk=pk)
        return view.render_to_response(view.get_context_data(pk=pk, skip_form=form), status=400)


def _next(request, task: RankingTask):
    """Continue with the annotator's next task in the campaign, or back to the task list when done."""
    following = (
        RankingTask.objects.filter(
            campaign_id=task.campaign_id, annotator=request.user, state=RankingTask.State.PENDING
        )
        .order_by("id")
        .values_list("pk", flat=True)
        .first()
    )
    return redirect("annotator-task", pk=following) if following else redirect("annotator-home")
