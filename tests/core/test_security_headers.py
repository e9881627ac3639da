"""Every response carries the Content-Security-Policy and Permissions-Policy; staff pages, downloads and the
API are never cached."""

import re

import pytest
from django.conf import settings
from django.test import Client

from tests.survey_app.factories import StudyFactory

pytestmark = pytest.mark.django_db


def _csp(response) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {name: value for name, value in directives}


def _security_headers_present(response) -> None:
    policy = _csp(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    assert "camera=()" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_a_participant_page_carries_both_policies(db):
    study = StudyFactory()
    response = Client().get(f"/s/{study.slug}/")
    assert response.status_code == 200
    _security_headers_present(response)


def test_the_sign_in_page_carries_both_policies(db):
    _security_headers_present(Client().get("/accounts/login/"))


def test_an_api_response_carries_both_policies(researcher_api):
    response = researcher_api.get("/api/criteria-sets/")
    assert response.status_code == 200
    _security_headers_present(response)


def test_only_the_api_documentation_relaxes_the_policy(db):
    assert "'unsafe-inline'" in _csp(Client().get("/api/docs/"))["style-src"]
    assert "'unsafe-inline'" not in _csp(Client().get("/accounts/login/"))["style-src"]


@pytest.mark.parametrize(
    "path", ["/runs/", "/audit/", "/studies/{slug}/", "/studies/{slug}/personas/export/"]
)
def test_staff_pages_and_downloads_are_not_stored(researcher, path):
    study = StudyFactory()
    client = Client()
    client.force_login(researcher)
    response = client.get(path.format(slug=study.slug))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_clinician_and_annotator_pages_are_not_stored(clinician, annotator):
    for user, path in ((clinician, "/clinician/"), (annotator, "/annotate/")):
        client = Client()
        client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_api_responses_are_not_stored_even_when_refused(researcher_api):
    assert "no-store" in researcher_api.get("/api/criteria-sets/")["Cache-Control"]
    refused = Client().get("/api/criteria-sets/")
    assert refused.status_code == 403
    assert "no-store" in refused["Cache-Control"]


def test_static_files_stay_cacheable_for_staff(researcher):
    client = Client()
    client.force_login(researcher)
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


INLINE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=", re.IGNORECASE)


def test_no_template_has_inline_script_handlers_or_styles():
    """The policy allows neither; a page that had one would silently lose it in the browser."""
    offending = [
        f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)}"
        for path in sorted((settings.BASE_DIR / "templates").rglob("*.html"))
        for match in INLINE.finditer(path.read_text())
    ]
    assert offending == []
