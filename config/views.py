"""The role-aware home page: it shows a little of every app, so it lives in the composition root."""

from django.views.generic import TemplateView

from annotation.selectors.campaigns import annotator_queue
from core.models import AuditEvent, Job, Status
from core.roles import Role, user_roles
from core.views import RoleRequiredMixin
from criteria.models import CriteriaSet
from evaluation.selectors.studies import clinician_queue_summary
from training_worker.models import TrainingRun


class HomeView(RoleRequiredMixin, TemplateView):
    template_name = "core/home.html"
    roles = tuple(Role)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        held = user_roles(self.request.user)
        if Role.RESEARCHER in held:
            runs = TrainingRun.objects.all()
            context.update(
                criteria_sets=CriteriaSet.objects.filter(is_current=True).prefetch_related("criteria"),
                run_counts={label: runs.filter(status=value).count() for value, label in Status.choices},
                recent_runs=runs[:5],
                recent_events=AuditEvent.objects.all()[:8],
                recent_jobs=Job.objects.all()[:5],
            )
            return context
        if Role.ANNOTATOR in held:
            context["ranking_queue"] = annotator_queue(user=self.request.user)
        if Role.CLINICIAN in held:
            context["comparison_queue"] = clinician_queue_summary(user=self.request.user)
        return context
