"""A clinician in Chromium: home -> Continue -> the next comparison; submitting it incomplete brings back a
focused error summary whose links lead to each unanswered criterion; skipping an item with a reason moves on
and is counted on the home page. axe-core finds no serious or critical violation on the clinician's home page
or item page (with and without errors)."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from evaluation.models import StudyAssignment
from tests.evaluation.helpers import make_study
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]

AXE = Axe()


def assert_accessible(page: Page) -> None:
    results = AXE.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, f"{page.url}\n{results.generate_report()}"


def test_clinician_continues_from_home_and_is_led_to_each_missing_answer(page: Page, live_server, researcher):
    study, clinicians = make_study(researcher=researcher, n_clinicians=2, n_scenarios=3, n_questions=3)
    clinician = clinicians[0]
    first, second, _ = StudyAssignment.objects.filter(clinician=clinician).order_by("sequence")
    criteria = list(study.criteria_set.criteria.all())

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(clinician.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your comparisons")).to_be_visible()
    assert page.locator("dl.stats dd").all_text_contents() == ["3", "0", "0"]
    assert_accessible(page)

    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/clinician/items/{first.token}/")
    expect(page.get_by_role("heading", name=re.compile("item 1 of 3"))).to_be_visible()
    assert_accessible(page)

    page.locator(f"input[name='choice-{criteria[0].key}'][value='A']").check()
    page.get_by_role("button", name="Submit and continue").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text(f"There are {len(criteria) - 1} problems")
    expect(summary.get_by_role("link")).to_have_count(len(criteria) - 1)
    expect(page.locator(f"input[name='choice-{criteria[0].key}'][value='A']")).to_be_checked()
    assert_accessible(page)
    summary.get_by_role("link", name=f"{criteria[-1].name}: Choose A, B or tie.").click()
    expect(page.locator(f"#choice-{criteria[-1].key}-A")).to_be_focused()

    page.get_by_label("Why are you skipping this item?").fill("The scenario is outside my practice.")
    page.get_by_role("button", name="Skip this item").click()
    expect(page).to_have_url(f"{live_server.url}/clinician/items/{second.token}/")
    page.get_by_role("link", name="Home").click()
    assert page.locator("dl.stats dd").all_text_contents() == ["2", "0", "1"]
    first.refresh_from_db()
    assert first.is_skipped and not first.is_submitted
