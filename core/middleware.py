"""Response headers the whole site shares: a Permissions-Policy, and no caching of anything staff see."""

from django.conf import settings
from django.utils.cache import add_never_cache_headers


class PermissionsPolicyMiddleware:
    """Switch off browser features (camera, microphone, location...) that no page uses."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class StaffNoStoreMiddleware:
    """Cache-Control: no-store on every page, download and export a signed-in user gets, and on the whole API.

    Staff pages carry study data and pseudonymous ratings; neither the browser's cache nor a shared proxy may
    keep a copy once the session ends. Participant pages set the same header themselves; static files are
    served before this middleware runs and stay cacheable.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path_info.startswith("/api/"):
            add_never_cache_headers(response)
        return response
