"""Reads for criteria sets."""

from django.db.models import QuerySet

from criteria.models import CriteriaSet


def criteria_sets_current() -> QuerySet[CriteriaSet]:
    return CriteriaSet.objects.filter(is_current=True).prefetch_related("criteria").order_by("key")


def criteria_set_get(*, key: str, version: int | None = None) -> CriteriaSet:
    """The named version of a set, or its current version. Raises CriteriaSet.DoesNotExist."""
    sets = CriteriaSet.objects.prefetch_related("criteria").filter(key=key)
    return sets.get(version=version) if version is not None else sets.get(is_current=True)
