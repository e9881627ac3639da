"""Criteria sets are versioned data: editing one creates a new version; data cites the version it used.

The tables keep the names they had when criteria lived in the annotation app."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CriteriaSet(models.Model):
    key = models.SlugField(max_length=64, help_text="Stable key, e.g. 'therapeutic'.")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        db_table = "annotation_criteriaset"
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="criteria_set_unique_version"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(is_current=True), name="criteria_set_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    @property
    def criterion_keys(self) -> list[str]:
        return [criterion.key for criterion in self.criteria.all()]


class Criterion(models.Model):
    criteria_set = models.ForeignKey(CriteriaSet, related_name="criteria", on_delete=models.CASCADE)
    key = models.SlugField(max_length=64, help_text="Stable key referenced everywhere, e.g. 'empathy'.")
    name = models.CharField(max_length=120)
    question = models.TextField(help_text="The question a rater answers for this criterion.")
    better_when = models.TextField()
    worse_when = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "annotation_criterion"
        ordering = ["criteria_set", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["criteria_set", "key"], name="criterion_unique_key_in_set"),
        ]

    def __str__(self) -> str:
        return self.name
