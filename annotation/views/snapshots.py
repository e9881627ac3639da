"""Researcher pages for dataset snapshots: freeze (a background job), inspect, download (audited)."""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView, View

from annotation.forms import SnapshotForm
from annotation.models import DatasetSnapshot
from annotation.selectors.snapshots import (
    objective_weight_options,
    snapshot_train_pairs,
    snapshot_withdrawals,
    snapshots_list,
)
from annotation.services.snapshots import (
    SnapshotError,
    snapshot_download_record,
    snapshot_freeze_launch,
    snapshot_spec_build,
)
from core.forms import form_add_application_error
from core.views import ResearcherRequiredMixin


class SnapshotCreateView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/snapshot_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", SnapshotForm(weight_options=objective_weight_options()))
        return context

    def post(self, request):
        form = SnapshotForm(request.POST, weight_options=objective_weight_options())
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        data = form.cleaned_data
        try:
            spec = snapshot_spec_build(
                response_set=data["response_set"],
                criteria_set=data["criteria_set"],
                judge_jobs=list(data["judge_jobs"]),
                campaigns=list(data["campaigns"]),
                split=data["split"],
                pair_strategy=data["pair_strategy"],
                min_margin=data["min_margin"],
                objective_weights=data["objective_weights"],
                weights_source=data["weights_source"],
                include_free_text=data["include_free_text"],
            )
        except SnapshotError as exc:
            form_add_application_error(form, exc)
            return self.render_to_response(self.get_context_data(form=form))
        job = snapshot_freeze_launch(name=data["name"], spec=spec, created_by=request.user)
        messages.success(
            request, f"Freezing {data['name']} (job {job.pk}); it appears under Snapshots when done."
        )
        return redirect("annotation-home")


class SnapshotDetailView(ResearcherRequiredMixin, TemplateView):
    template_name = "annotation/snapshot_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        snapshot = get_object_or_404(snapshots_list(), pk=kwargs["pk"])
        counts = snapshot.manifest.get("counts", {})
        context.update(
            snapshot=snapshot,
            counts=counts,
            pair_rows=[
                (key, value.get("train", 0), value.get("test", 0))
                for key, value in counts.get("pairs", {}).items()
            ],
            provenance=snapshot.manifest.get("provenance", {}),
            withdrawals=snapshot_withdrawals(snapshot=snapshot),
            without_pairs=[key for key, n in snapshot_train_pairs(snapshot=snapshot).items() if not n],
        )
        return context


class SnapshotDownloadView(ResearcherRequiredMixin, View):
    def get(self, request, pk: int):
        snapshot = get_object_or_404(DatasetSnapshot, pk=pk)
        snapshot_download_record(snapshot=snapshot, actor=request.user, request=request)
        return FileResponse(
            snapshot.archive.open("rb"), as_attachment=True, filename=f"snapshot-{snapshot.short_hash}.tar.gz"
        )
