from django.contrib import admin

from criteria.models import CriteriaSet, Criterion


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(CriteriaSet)
class CriteriaSetAdmin(admin.ModelAdmin):
    list_display = ("key", "version", "name", "is_current", "created_at")
    list_filter = ("key", "is_current")
    inlines = [CriterionInline]
