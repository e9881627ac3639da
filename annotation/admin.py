from django.contrib import admin

from annotation.models import (
    DatasetSnapshot,
    JudgeJob,
    JudgePersona,
    QuestionBank,
    RankingCampaign,
    ResponseSet,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Preference data changes only through the app's services (imports, jobs, freezes)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QuestionBank)
class QuestionBankAdmin(ReadOnlyAdmin):
    list_display = ("name", "source", "created_at")


@admin.register(ResponseSet)
class ResponseSetAdmin(ReadOnlyAdmin):
    list_display = ("name", "bank", "origin", "state", "created_at")


@admin.register(JudgePersona)
class JudgePersonaAdmin(ReadOnlyAdmin):
    list_display = ("origin", "source_id", "split", "created_at")
    list_filter = ("origin", "split")


@admin.register(JudgeJob)
class JudgeJobAdmin(ReadOnlyAdmin):
    list_display = ("name", "model", "temperature", "prompt_version", "created_at")


@admin.register(RankingCampaign)
class RankingCampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "response_set", "annotators_per_item", "is_open", "created_at")


@admin.register(DatasetSnapshot)
class DatasetSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("name", "content_hash", "criteria_set", "created_at")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
