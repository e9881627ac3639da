"""Pages of the platform core: the role-aware home page, the audit log, background job status."""

from django.contrib.auth.mixins import AccessMixin
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView, View
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import RetrieveAPIView

from core.forms import AuditFilterForm
from core.models import AuditEvent, Job, Status
from core.permissions import IsResearcher
from core.roles import Role, user_has_role
from core.selectors import audit_events_filter
from core.services import audit_record, job_create


class RoleRequiredMixin(AccessMixin):
    """Anonymous visitors go to the login page; signed-in users without one of `roles` get 403."""

    roles: tuple[Role, ...] = ()
    raise_exception = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not user_has_role(request.user, *self.roles):
            self.raise_exception = True
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


class ResearcherRequiredMixin(RoleRequiredMixin):
    """Pages for researchers only: the study's set-up, data, runs and results."""

    roles = (Role.RESEARCHER,)


class AuditLogView(ResearcherRequiredMixin, TemplateView):
    """The log, filtered by the query string; a filter that does not parse is shown as a form error."""

    template_name = "core/audit_log.html"

    def get_context_data(self, form: AuditFilterForm | None = None, **kwargs):
        context = super().get_context_data(**kwargs)
        form = form or AuditFilterForm(self.request.GET)
        events = audit_events_filter(**form.filters())
        page = Paginator(events, 50).get_page(self.request.GET.get("page"))
        actions = AuditEvent.objects.order_by().values_list("action", flat=True).distinct()
        # The fields keep what was typed, so a mistake can be corrected in place.
        typed = {name: form.data.get(name, "").strip() for name in form.fields}
        context.update(page=page, form=form, filters=typed, actions=sorted(set(actions)))
        return context

    def post(self, request):
        form = AuditFilterForm(request.POST)
        filters = form.filters()
        if form.errors:
            return self.render_to_response(self.get_context_data(form=form), status=400)
        job = job_create(kind="audit_export", params=filters, created_by=request.user)
        audit_record(action="audit.export", actor=request.user, obj=job, detail=filters, request=request)
        return HttpResponseRedirect(reverse("job-detail", args=[job.pk]))


class JobDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "core/job_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["job"] = get_object_or_404(Job, pk=kwargs["pk"])
        return context


class JobDownloadView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int):
        job = get_object_or_404(Job, pk=pk, status=Status.SUCCEEDED)
        if not job.output:
            raise Http404("This job produced no file.")
        audit_record(action="job.download", actor=request.user, obj=job, request=request)
        return FileResponse(
            job.output.open("rb"), as_attachment=True, filename=job.output.name.rsplit("/", 1)[-1]
        )


class JobSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress_done",
            "progress_total",
            "progress_percent",
            "result",
            "error",
        ]


@extend_schema(summary="A background job's status and progress (for live progress bars)")
class JobStatusApi(RetrieveAPIView):
    permission_classes = [IsResearcher]
    serializer_class = JobSerializer
    queryset = Job.objects.all()
