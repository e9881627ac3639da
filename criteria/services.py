"""Writes for criteria sets: an edit is a new version."""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from core.errors import ApplicationError
from core.services import audit_record
from criteria.models import CriteriaSet, Criterion

CRITERION_FIELDS = ("key", "name", "question", "better_when", "worse_when")


class CriteriaSetError(ApplicationError):
    """The criteria cannot form a set; nothing was written."""


def _refused(message: str) -> CriteriaSetError:
    return CriteriaSetError(message, {"criteria": message})


def criteria_set_new_version(
    *,
    criteria_set: CriteriaSet,
    criteria: Sequence[dict[str, Any]],
    actor: AbstractBaseUser,
    name: str | None = None,
    description: str | None = None,
) -> CriteriaSet:
    """Save an edit as a new current version; earlier versions stay intact for the data that cites them."""
    keys = [item["key"] for item in criteria]
    if len(set(keys)) != len(keys):
        raise _refused("Criterion keys must be unique within a set.")
    if not keys:
        raise _refused("A criteria set needs at least one criterion.")
    with transaction.atomic():
        latest = (
            CriteriaSet.objects.select_for_update().filter(key=criteria_set.key).order_by("-version").first()
        )
        CriteriaSet.objects.filter(key=criteria_set.key, is_current=True).update(is_current=False)
        new_set = CriteriaSet.objects.create(
            key=criteria_set.key,
            version=latest.version + 1,
            name=name or criteria_set.name,
            description=criteria_set.description if description is None else description,
            is_current=True,
            created_by=actor,
        )
        Criterion.objects.bulk_create(
            Criterion(
                criteria_set=new_set, position=index, **{field: item[field] for field in CRITERION_FIELDS}
            )
            for index, item in enumerate(criteria)
        )
        audit_record(
            action="criteria_set.new_version",
            actor=actor,
            obj=new_set,
            detail={"key": new_set.key, "keys": keys},
        )
    return new_set
