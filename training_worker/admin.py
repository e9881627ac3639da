from django.contrib import admin

from training_worker.models import RunArtifact, RunEvent, TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "method", "status", "step", "total_steps", "created_at")
    list_filter = ("method", "status")


admin.site.register(RunEvent)
admin.site.register(RunArtifact)
