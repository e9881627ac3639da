"""DRF permissions. The project default is DenyAll: each view names the roles it admits."""

from rest_framework.permissions import BasePermission

from core.roles import Role, user_has_role


class DenyAll(BasePermission):
    def has_permission(self, request, view) -> bool:
        return False


class _HasRole(BasePermission):
    roles: tuple[Role, ...] = ()

    def has_permission(self, request, view) -> bool:
        return user_has_role(request.user, *self.roles)


class IsResearcher(_HasRole):
    roles = (Role.RESEARCHER,)


class IsClinician(_HasRole):
    roles = (Role.CLINICIAN,)


class IsAnnotator(_HasRole):
    roles = (Role.ANNOTATOR,)


class IsStaffRole(_HasRole):
    """Any signed-in member of the research team (researcher, clinician or annotator)."""

    roles = tuple(Role)
