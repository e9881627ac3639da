"""A researcher invites a clinician from the People page; the clinician signs up through the link and, once a
study assigns them comparisons, finds them queued on their home page."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from core.roles import Role, user_roles
from tests.evaluation.helpers import make_clinicians, make_study
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]

NEW_PASSWORD = "a long and unusual passphrase 7"


def test_an_invited_clinician_signs_up_and_lands_on_their_home_page(page, browser, live_server, researcher):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(researcher.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    page.get_by_label("Role:", exact=True).select_option("clinician")
    page.get_by_label("Note").fill("Dr Browser")
    page.get_by_role("button", name="Create invitation link").click()
    expect(page.get_by_role("heading", name="Invitation created")).to_be_visible()
    link = page.get_by_label("Invitation link").input_value()
    assert link.startswith(f"{live_server.url}/invitations/")

    invitee = browser.new_context()
    try:
        clinician_page = invitee.new_page()
        clinician_page.set_default_timeout(15_000)
        clinician_page.goto(link)
        expect(clinician_page.get_by_role("heading", name="Create your account")).to_be_visible()
        clinician_page.get_by_label("Username").fill("dr-browser")
        clinician_page.get_by_label("Password:", exact=True).fill(NEW_PASSWORD)
        clinician_page.get_by_label("Password (again)").fill(NEW_PASSWORD)
        clinician_page.get_by_role("button", name="Create account").click()
        expect(clinician_page).to_have_url(f"{live_server.url}/")
        expect(clinician_page.get_by_role("heading", name="Welcome, dr-browser")).to_be_visible()
        expect(clinician_page.get_by_role("heading", name="Your comparisons")).to_be_visible()
        expect(clinician_page.get_by_role("link", name="People")).to_have_count(0)

        clinician_page.goto(link)
        expect(clinician_page.get_by_role("alert")).to_contain_text("already been used")

        # Once a study assigns them comparisons, their home page is their queue.
        new_clinician = get_user_model().objects.get(username="dr-browser")
        make_study(
            researcher=researcher,
            clinicians=[new_clinician, *make_clinicians(1)],
            n_scenarios=3,
            n_questions=3,
        )
        clinician_page.goto(f"{live_server.url}/")
        queue = clinician_page.locator("dl").filter(has_text="To do")
        expect(queue).to_contain_text("To do3")
        clinician_page.get_by_role("link", name="Continue").click()
        expect(clinician_page).to_have_url(re.compile(r"/clinician/items/[^/]+/$"))
    finally:
        invitee.close()
    assert user_roles(get_user_model().objects.get(username="dr-browser")) == {Role.CLINICIAN}

    page.goto(f"{live_server.url}/people/")
    expect(page.get_by_role("cell", name="dr-browser", exact=True)).to_be_visible()
    expect(page.get_by_text("used by dr-browser")).to_be_visible()
