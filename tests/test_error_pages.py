"""Errors people meet are the site's own styled pages with a way back; under /api/ they stay JSON."""

import pytest
from django.test import Client, RequestFactory

from config.error_views import server_error

pytestmark = pytest.mark.django_db

WAY_BACK = '<a class="button" href="/">Go to the home page</a>'
STYLED = '<link rel="stylesheet" href="/static/css/app.css">'


def test_an_unknown_page_is_a_styled_404(annotator):
    client = Client()
    client.force_login(annotator)
    response = client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert "Page not found" in page and WAY_BACK in page and STYLED in page
    assert 'aria-label="Main"' in page  # the site's navigation, signed in


def test_a_page_for_another_role_is_a_styled_403(annotator):
    client = Client()
    client.force_login(annotator)
    response = client.get("/runs/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode() and WAY_BACK in response.content.decode()


def test_an_expired_form_is_a_styled_403():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert "Form expired" in response.content.decode() and STYLED in response.content.decode()


def test_a_crash_is_a_styled_500_page():
    response = server_error(RequestFactory().get("/runs/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode() and WAY_BACK in response.content.decode()


def test_api_errors_stay_json(researcher_api, annotator):
    missing = researcher_api.get("/api/no-such-endpoint/")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    crashed = server_error(RequestFactory().get("/api/runs/"))
    assert crashed.status_code == 500 and crashed["Content-Type"] == "application/json"
    client = Client()
    client.force_login(annotator)
    refused = client.get("/api/runs/")
    assert refused.status_code == 403 and "detail" in refused.json()
