"""A researcher signs in with the keyboard and lands on the dashboard."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]


def test_researcher_signs_in_and_sees_the_dashboard(page, live_server, researcher):
    page.goto(f"{live_server.url}/audit/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/audit/")
    page.keyboard.type(researcher.username)  # the username field has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/audit/")
    expect(page.get_by_role("cell", name="auth.login", exact=True).first).to_be_visible()
    page.get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name=f"Welcome, {researcher.username}")).to_be_visible()
    expect(page.get_by_role("heading", name="Training runs")).to_be_visible()
    expect(page.get_by_text("No training runs yet")).to_be_visible()
    expect(page.get_by_text("Therapeutic qualities", exact=True)).to_be_visible()


def test_wrong_password_shows_an_error(page, live_server, researcher):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(researcher.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Your username and password didn't match")
