"""Every page URL that only accepts a form post answers a GET with 405, never a 500."""

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.generic import TemplateView

from core.roles import Role
from tests.factories import UserFactory

PLACEHOLDER = {"dbid": "1", "int": "1", "slug": "x", "str": "x", "token": "x" * 24, "path": "x"}


def _page_patterns(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _page_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and not prefix.startswith(("admin", "api")):
            yield prefix + str(pattern.pattern), getattr(pattern.callback, "view_class", None)


def _is_post_only(view_class) -> bool:
    """A view that handles POST and has no page: no GET handler, or TemplateView's with no template."""
    if view_class is None or not hasattr(view_class, "post"):
        return False
    return not hasattr(view_class, "get") or (
        view_class.get is TemplateView.get and not getattr(view_class, "template_name", None)
    )


def _url(route: str) -> str:
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda match: PLACEHOLDER[match.group(1) or "str"], route)


POST_ONLY = sorted(
    _url(route) for route, view in _page_patterns(get_resolver().url_patterns) if _is_post_only(view)
)


def test_the_post_only_pages_are_found():
    assert {
        "/studies/x/status/",
        "/studies/x/export/",
        "/runs/1/cancel/",
        "/evaluations/studies/1/unblind/",
    } <= set(POST_ONLY)


@pytest.mark.django_db
@pytest.mark.parametrize("url", POST_ONLY)
def test_get_on_a_post_only_page_is_405(url):
    user = UserFactory()
    user.groups.add(*(Group.objects.get_or_create(name=role.value)[0] for role in Role))
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 405
    assert "POST" in response["Allow"]
