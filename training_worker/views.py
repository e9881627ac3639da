"""Researcher pages for training runs."""

from django.views.generic import ListView

from core.roles import Role
from core.views import RoleRequiredMixin
from training_worker.models import TrainingRun


class RunListView(RoleRequiredMixin, ListView):
    template_name = "training_worker/run_list.html"
    roles = (Role.RESEARCHER,)
    paginate_by = 50
    context_object_name = "runs"

    def get_queryset(self):
        return TrainingRun.objects.select_related("created_by")
