"""In Chromium: a Prolific participant who closes the browser carries on from the study link and, once
finished, sees the completion code again; an untouched ranking asks for confirmation; the review page lists
the answers; every participant page passes axe-core and is photographed at desktop and phone sizes."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from survey_app.models import Answer, Participant, StudyStatus
from tests.survey_app.browser_steps import (
    agree_and_pass_eligibility,
    assert_accessible,
    fill,
    keep_shown_ranking,
)
from tests.survey_app.factories import StudyFactory
from tests.survey_app.helpers import PageAnswers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("seeded_db"),
]

PROLIFIC = (
    "?PROLIFIC_PID=61f0a2b3c4d5e6f708192a3b&STUDY_ID=62aa0b1c2d3e4f5061728394"
    "&SESSION_ID=63bb1c2d3e4f506172839405"
)
COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc=DONE1234"
PAGES_WALKED = 22
VIEWPORTS = [{"width": 1280, "height": 800}, {"width": 390, "height": 844}]


def continue_pages(page: Page, answers: PageAnswers, numbers: range) -> None:
    for number in numbers:
        fill(page, answers.data(number))
        if number == 5:
            keep_shown_ranking(page)
        else:
            page.get_by_role("button", name="Continue").click()


def test_a_prolific_participant_who_closes_the_browser_carries_on_from_the_study_link(
    page, live_server, browser: Browser
):
    study = StudyFactory(recruits_on_prolific=True, prolific_completion_url=COMPLETION_URL)
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/{PROLIFIC}")
    agree_and_pass_eligibility(page, base)
    answers = PageAnswers(Participant.objects.get(study=study))
    continue_pages(page, answers, range(1, 3))
    expect(page).to_have_url(f"{base}/q/3/")
    page.context.close()  # the browser is closed mid-survey, before "Finish later"

    reopened = browser.new_context()
    again = reopened.new_page()
    again.goto(f"{base}/{PROLIFIC}")
    expect(again).to_have_url(f"{base}/q/3/")
    continue_pages(again, answers, range(3, 7))
    again.get_by_role("button", name="Submit my answers").click()
    expect(again.locator("[data-completion-code]")).to_have_text("DONE1234")
    reopened.close()

    finished = browser.new_context()
    later = finished.new_page()
    later.goto(f"{base}/{PROLIFIC}")
    expect(later).to_have_url(f"{base}/done/")
    expect(later.locator("[data-completion-code]")).to_have_text("DONE1234")
    expect(later.get_by_role("link", name="Return to Prolific")).to_have_attribute("href", COMPLETION_URL)
    assert_accessible(later)
    finished.close()
    assert Participant.objects.filter(study=study).count() == 1


def test_an_untouched_ranking_asks_for_confirmation_and_the_review_shows_the_answers(page, live_server):
    study = StudyFactory()
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/")
    agree_and_pass_eligibility(page, base)
    participant = Participant.objects.get(study=study)
    answers = PageAnswers(participant)
    continue_pages(page, answers, range(1, 5))
    expect(page).to_have_url(f"{base}/q/5/")
    confirm = page.get_by_label("Keep this order, it is how I rank these qualities")
    expect(confirm).to_be_hidden()
    page.get_by_role("button", name="Continue").click()
    expect(confirm).to_be_focused()
    expect(page).to_have_url(f"{base}/q/5/")
    assert not Answer.objects.filter(participant=participant, item__key="ranking").exists()
    assert_accessible(page)
    # Reordering instead: move the first quality down by keyboard; no confirmation is needed then.
    first = page.locator(".rank-list li").first
    moved = first.get_attribute("data-key")
    first.focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator(".rank-list li").nth(1)).to_have_attribute("data-key", moved)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/q/6/")
    fill(page, answers.data(6, comments="Shorter waiting lists."))
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(f"{base}/review/")
    ranking = Answer.objects.get(participant=participant, item__key="ranking").value
    names = {c.key: c.name for c in study.criteria_set.criteria.all()}
    ranked = page.locator(".review-row", has_text="Put these qualities in order").locator("ol li")
    expect(ranked).to_have_text([names[key] for key in sorted(ranking, key=ranking.get)])
    expect(page.locator(".review-row", has_text="Shorter waiting lists.")).to_be_visible()
    age = participant.instrument.items.get(key="age_group")
    label = age.choice_labels[answers.answers["about_you"]["age_group"]]
    expect(page.locator(".review-row", has_text=age.prompt).locator("dd")).to_have_text(label)
    page.get_by_role("link", name="Change your answers to About you").click()
    expect(page).to_have_url(f"{base}/q/1/")


def walk_every_participant_page(page: Page, base_url: str, visit: Callable[[Page, str], None]) -> None:
    """Open every participant page once, in the states a participant meets, calling visit(page, name)."""
    study = StudyFactory()
    base = f"{base_url}/s/{study.slug}"
    page.goto(f"{base}/")
    visit(page, "consent")
    page.get_by_role("button", name="Continue to the survey").click()
    expect(page.get_by_role("alert")).to_be_visible()
    visit(page, "consent-error")
    page.get_by_label("I have read and understood the information above").check()
    page.get_by_role("button", name="Continue to the survey").click()
    expect(page).to_have_url(f"{base}/eligibility/")
    visit(page, "eligibility")
    page.locator("input[name=eligible_adult][value=yes]").check()
    page.locator("input[name=eligible_lived_experience][value=yes]").check()
    page.get_by_role("button", name="Continue").click()
    answers = PageAnswers(Participant.objects.get(study=study))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("[data-error-summary]")).to_be_visible()
    visit(page, "page-1-error")
    for number in range(1, 7):
        expect(page).to_have_url(f"{base}/q/{number}/")
        overrides = {"comments": "Some days I want to end my life."} if number == 6 else {}
        fill(page, answers.data(number, **overrides))
        visit(page, f"page-{number}")
        if number == 5:
            page.get_by_role("button", name="Continue").click()
            visit(page, "page-5-confirm")
            page.keyboard.press("Space")
        page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/review/")
    visit(page, "review-with-crisis-notice")
    page.goto(f"{base}/saved/")
    visit(page, "saved")
    code = page.locator("[data-resume-code]").inner_text().strip()
    page.goto(f"{base}/review/")
    visit(page, "review")
    page.get_by_role("button", name="Submit my answers").click()
    visit(page, "complete")
    page.goto(f"{base}/resume/")
    visit(page, "resume")
    page.goto(f"{base}/withdraw/")
    page.get_by_label("Your resume code").fill(code)
    visit(page, "withdraw")
    page.get_by_label("I want to withdraw").check()
    page.get_by_role("button", name="Withdraw and delete my answers").click()
    visit(page, "withdrawn")

    declining = StudyFactory()
    page.goto(f"{base_url}/s/{declining.slug}/{PROLIFIC}")
    page.get_by_role("button", name="I do not want to take part").click()
    visit(page, "declined")
    screened = StudyFactory()
    page.goto(f"{base_url}/s/{screened.slug}/")
    page.get_by_label("I have read and understood the information above").check()
    page.get_by_role("button", name="Continue to the survey").click()
    page.locator("input[name=eligible_adult][value=no]").check()
    page.locator("input[name=eligible_lived_experience][value=yes]").check()
    page.get_by_role("button", name="Continue").click()
    visit(page, "screened-out")
    page.goto(f"{base_url}/s/no-such-study/")
    visit(page, "not-found")
    page.goto(f"{base_url}/s/{StudyFactory(status=StudyStatus.CLOSED).slug}/")
    visit(page, "closed")


def test_every_participant_page_has_no_serious_accessibility_violation(page, live_server):
    visited: list[str] = []

    def check(current: Page, name: str) -> None:
        expect(current.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(current)
        visited.append(name)

    walk_every_participant_page(page, live_server.url, check)
    assert len(visited) == PAGES_WALKED


def test_screenshots_of_every_participant_page_at_desktop_and_phone_sizes(live_server, browser, tmp_path):
    """Writes PNGs to SCREENSHOT_DIR (default: a temporary directory) for people to look at; on a phone the
    support panel keeps the emergency line in view and folds the rest away."""
    directory = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    for viewport in VIEWPORTS:
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        size = f"{viewport['width']}x{viewport['height']}"
        wide = viewport["width"] >= 640
        shots: list[Path] = []

        def shoot(
            current: Page, name: str, size: str = size, shots: list[Path] = shots, wide: bool = wide
        ) -> None:
            path = directory / f"{size}-{len(shots) + 1:02d}-{name}.png"
            current.screenshot(path=path, full_page=True)
            shots.append(path)
            panel = current.locator(".support-panel")
            expect(panel.locator(".support-headline")).to_be_visible()
            more = panel.locator("[data-support-more]")
            if more.count():
                expect(more).to_have_js_property("open", wide)

        walk_every_participant_page(page, live_server.url, shoot)
        context.close()
        assert len(shots) == PAGES_WALKED and all(path.stat().st_size > 10_000 for path in shots)
