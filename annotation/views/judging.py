"""Researcher pages for persona judge jobs: launch, watch progress, cancel, resume."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from annotation.forms import JudgeJobForm
from annotation.models import JudgeJob
from annotation.selectors.judging import judge_jobs_list
from annotation.services.endpoint_test import judge_job_endpoint_test
from annotation.services.judging import JudgeJobError, judge_job_cancel, judge_job_create, judge_job_launch
from core.forms import form_add_application_error
from core.views import ResearcherRequiredMixin

PAGE = 50


class JudgeJobCreateView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/judge_job_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", JudgeJobForm())
        return context

    def post(self, request):
        form = JudgeJobForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            judge_job = judge_job_create(created_by=request.user, **form.cleaned_data)
        except JudgeJobError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, f"Queued {judge_job.name}.")
        return redirect("annotation-judge-job", pk=judge_job.pk)


class JudgeJobEndpointTestView(JudgeJobCreateView):
    """The form's "Test endpoint" button: one request with the job's prompt for its first item; no job."""

    http_method_names = ["post"]

    def post(self, request):
        form = JudgeJobForm(request.POST)
        form.fields["name"].required = False
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        try:
            probe = judge_job_endpoint_test(
                endpoint=data["endpoint"],
                response_set=data["response_set"],
                criteria_set=data["criteria_set"],
                personas=list(data["personas"]),
                split=data["split"],
                actor=request.user,
            )
        except JudgeJobError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        return self.render_to_response(self.get_context_data(form=form, probe=probe))


class JudgeJobDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/judge_job_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        judge_job = get_object_or_404(judge_jobs_list(), pk=kwargs["pk"])
        failures = judge_job.judgements.filter(ok=False).select_related("persona", "question")
        context.update(
            judge_job=judge_job,
            job=judge_job.job,
            failures=Paginator(failures.order_by("-id"), PAGE).get_page(self.request.GET.get("page")),
        )
        return context


class JudgeJobLaunchView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        judge_job = get_object_or_404(JudgeJob, pk=pk)
        job = judge_job_launch(judge_job=judge_job, actor=request.user)
        messages.success(request, f"Job {job.pk} runs {judge_job.name}, skipping what is already judged.")
        return redirect("annotation-judge-job", pk=pk)


class JudgeJobCancelView(ResearcherRequiredMixin, View):
    def post(self, request, pk: int):
        judge_job = get_object_or_404(JudgeJob, pk=pk)
        if judge_job_cancel(judge_job=judge_job, actor=request.user):
            messages.success(request, f"Cancelled {judge_job.name}; what it judged is kept.")
        else:
            messages.error(request, f"{judge_job.name} is not running.")
        return redirect("annotation-judge-job", pk=pk)
