"""The model registry: researchers register the starting models (base policies, reward backbones) once.

A registered model is a directory the GPU workers can read or, with `ALLOW_HUB_MODELS=true`, a model hub id.
Launch and generation pages then offer it by name through the model picker (`training_worker.model_picker`),
so nobody types a worker path into a run.
"""

import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from core.errors import ApplicationError
from core.services import audit_record
from training_worker.models import BaseModel

# "org/name" or "name", as the hub spells repository ids.
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


class BaseModelError(ApplicationError):
    """The model cannot be registered as given; nothing was written."""


def model_path_problem(path: str) -> str | None:
    """Why `path` cannot be a starting model, or None.

    A path (absolute or relative) must exist on this server, whose storage the GPU workers share; anything
    else is a hub id, accepted only where hub downloads are allowed.
    """
    if not path:
        return "Give the model's directory or hub id."
    if path.startswith(("/", ".")) or not settings.ALLOW_HUB_MODELS:
        return None if Path(path).exists() else f"Base model path {path!r} does not exist."
    return None if HUB_ID.match(path) else f"{path!r} is neither an existing directory nor a hub id."


def base_model_register(
    *, name: str, path: str, kind: str, notes: str = "", created_by: AbstractBaseUser | None
) -> BaseModel:
    """Register a starting model under a unique name; raises BaseModelError with every problem found."""
    name, path = name.strip(), path.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the model a name."
    elif BaseModel.objects.filter(name=name).exists():
        errors["name"] = f"A model named {name!r} is registered already."
    problem = model_path_problem(path)
    if problem:
        errors["path"] = problem
    elif BaseModel.objects.filter(kind=kind, path=path).exists():
        errors["path"] = "This model is registered already."
    if kind not in BaseModel.Kind.values:
        errors["kind"] = f"Unknown kind {kind!r}."
    if errors:
        raise BaseModelError(field_errors=errors)
    try:
        with transaction.atomic():
            model = BaseModel.objects.create(
                name=name, path=path, kind=kind, notes=notes.strip(), created_by=created_by
            )
            audit_record(
                action="base_model.register",
                actor=created_by,
                actor_label=None if created_by else "system",
                obj=model,
                detail={"name": name, "path": path, "kind": kind},
            )
    except IntegrityError as exc:  # registered concurrently under the same name or path
        raise BaseModelError(field_errors={"name": "This model was registered just now."}) from exc
    return model


def base_model_ensure(*, name: str, path: str, kind: str, created_by: AbstractBaseUser | None) -> BaseModel:
    """The model registered at `path` (of this kind), registering it under `name` when it is not yet."""
    existing = BaseModel.objects.filter(kind=kind, path=path.strip()).first()
    return existing or base_model_register(name=name, path=path, kind=kind, created_by=created_by)
