from django import forms
from django.contrib import admin

from core.services import audit_record
from training_worker.base_models import model_path_problem
from training_worker.models import BaseModel, RunArtifact, RunEvent, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "method", "status", "step", "total_steps", "created_at")
    list_filter = ("method", "status")


class BaseModelAdminForm(forms.ModelForm):
    class Meta:
        model = BaseModel
        fields = ["name", "path", "kind", "notes"]

    def clean_path(self) -> str:
        path = self.cleaned_data["path"].strip()
        problem = model_path_problem(path)
        if problem:
            raise forms.ValidationError(problem)
        return path


@admin.register(BaseModel)
class BaseModelAdmin(admin.ModelAdmin):
    """The model registry; changes made here are checked and audit-logged like those on the Models page."""

    form = BaseModelAdminForm

    list_display = ("name", "kind", "path", "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "path")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        audit_record(
            action="base_model.change" if change else "base_model.register",
            actor=request.user,
            obj=obj,
            request=request,
            detail={"name": obj.name, "path": obj.path, "kind": obj.kind},
        )

    def delete_model(self, request, obj) -> None:
        audit_record(action="base_model.delete", actor=request.user, obj=obj, request=request)
        super().delete_model(request, obj)


admin.site.register(RunEvent)
admin.site.register(RunArtifact)
