"""Participant journeys in Chromium: completion with the ranking done by keyboard only, consent declined,
save and resume in a new browser context, withdrawal, Prolific round trip; axe-core on every page."""

import re

import pytest
from playwright.sync_api import Page, expect

from survey_app.models import Answer, Participant, ParticipantStatus, StudyStatus
from tests.survey_app.browser_steps import (
    TARGET_ORDER,
    agree_and_pass_eligibility,
    assert_accessible,
    fill,
    keep_shown_ranking,
    rank_by_keyboard,
    tab_to,
)
from tests.survey_app.factories import StudyFactory
from tests.survey_app.helpers import PageAnswers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("seeded_db"),
]


def answer_until_ranking(page: Page, base: str, answers: PageAnswers) -> None:
    for number in range(1, 5):
        expect(page).to_have_url(f"{base}/q/{number}/")
        if number == 1:
            page.get_by_role("button", name="Continue").click()  # nothing answered: the error summary
            expect(page.locator("[data-error-summary]")).to_be_focused()
            assert_accessible(page)
        fill(page, answers.data(number))
        assert_accessible(page)
        page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/q/5/")


def test_journey_to_the_completion_code_with_the_ranking_by_keyboard(page, live_server):
    study = StudyFactory()
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/")
    agree_and_pass_eligibility(page, base)
    participant = Participant.objects.get(study=study)
    answers = PageAnswers(participant)
    answer_until_ranking(page, base, answers)

    expect(page.locator(".rank-list li")).to_have_count(5)
    expect(page.locator("[data-rank-rows]")).to_be_hidden()
    assert_accessible(page)
    shown = page.eval_on_selector_all(".rank-list li", "items => items.map(i => i.dataset.key)")
    # One shuffle in 120 shows the target order itself: nothing moves, and the order must be confirmed.
    shown_is_target = shown == [f"ranking-{key}" for key in TARGET_ORDER]
    rank_by_keyboard(page, TARGET_ORDER)
    if not shown_is_target:
        expect(page.locator("[aria-live=polite]")).to_contain_text("moved to rank")
    tab_to(page, "el.tagName === 'BUTTON' && el.textContent.trim() === 'Continue'")
    page.keyboard.press("Enter")
    if shown_is_target:
        confirm = page.get_by_label("Keep this order, it is how I rank these qualities")
        expect(confirm).to_be_focused()
        page.keyboard.press("Space")
        page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(f"{base}/q/6/")
    fill(page, answers.data(6))
    page.get_by_role("button", name="Back").click()
    expect(page).to_have_url(f"{base}/q/5/")
    expect(page.locator(".rank-list li").first).to_have_attribute("data-key", "ranking-patient_autonomy")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("textarea[name=comments]")).to_have_value(answers.data(6).get("comments", ""))
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(f"{base}/review/")
    expect(page.get_by_text("Step 7 of 7")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Submit my answers").click()
    expect(page).to_have_url(f"{base}/done/")
    expect(page.locator("[data-completion-code]")).to_have_text(study.completion_code)
    assert_accessible(page)

    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    ranking = Answer.objects.get(participant=participant, item__key="ranking").value
    assert sorted(ranking, key=ranking.get) == TARGET_ORDER


def test_declining_consent(page, live_server):
    study = StudyFactory()
    page.goto(f"{live_server.url}/s/{study.slug}/")
    page.get_by_role("button", name="I do not want to take part").click()
    expect(page.get_by_role("heading", name="You chose not to take part")).to_be_visible()
    assert_accessible(page)
    assert Participant.objects.get(study=study).status == ParticipantStatus.DECLINED


def test_save_and_resume_in_a_new_browser_context(page, live_server, browser):
    study = StudyFactory()
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/")
    agree_and_pass_eligibility(page, base)
    answers = PageAnswers(Participant.objects.get(study=study))
    fill(page, answers.data(1))
    page.get_by_role("button", name="Continue").click()
    fill(page, answers.data(2))
    page.get_by_role("button", name="Save and finish later").click()
    expect(page).to_have_url(f"{base}/saved/")
    assert_accessible(page)
    code = page.locator("[data-resume-code]").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code)

    context = browser.new_context(viewport={"width": 375, "height": 740})  # a phone, with no session
    other = context.new_page()
    other.goto(f"{base}/resume/")
    assert_accessible(other)
    other.get_by_label("Your resume code").fill(code.lower())
    other.get_by_role("button", name="Continue").click()
    expect(other).to_have_url(f"{base}/q/2/")
    severity = answers.data(2)["severity"]
    expect(other.locator(f"input[name=severity][value={severity}]")).to_be_checked()
    assert_accessible(other)
    context.close()


def test_withdrawal_with_the_resume_code(page, live_server):
    study = StudyFactory()
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/")
    agree_and_pass_eligibility(page, base)
    participant = Participant.objects.get(study=study)
    fill(page, PageAnswers(participant).data(1))
    page.get_by_role("button", name="Save and finish later").click()
    code = page.locator("[data-resume-code]").inner_text().strip()
    assert Answer.objects.filter(participant=participant).exists()

    page.get_by_role("link", name="Withdraw from the study").click()
    expect(page.get_by_label("Your resume code")).to_have_value(code)
    page.get_by_role("button", name="Withdraw and delete my answers").click()
    expect(page.locator("[data-error-summary]")).to_contain_text("Tick the box")
    assert_accessible(page)
    page.get_by_label("I want to withdraw").check()
    page.get_by_role("button", name="Withdraw and delete my answers").click()
    expect(page.get_by_role("heading", name="You have withdrawn from the study")).to_be_visible()
    assert_accessible(page)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.WITHDRAWN
    assert not Answer.objects.filter(participant=participant).exists()


def test_prolific_round_trip_keeps_identifiers_out_of_every_page(page, live_server):
    pid, prolific_study, session = (
        "61f0a2b3c4d5e6f708192a3b",
        "62aa0b1c2d3e4f5061728394",
        "63bb1c2d3e4f506172839405",
    )
    study = StudyFactory(prolific_completion_url="https://app.prolific.com/submissions/complete?cc=DONE1234")
    base = f"{live_server.url}/s/{study.slug}"
    seen: list[str] = []
    page.on("load", lambda loaded: seen.append(loaded.content()))
    page.goto(f"{base}/?PROLIFIC_PID={pid}&STUDY_ID={prolific_study}&SESSION_ID={session}")
    expect(page).to_have_url(f"{base}/")
    agree_and_pass_eligibility(page, base)
    participant = Participant.objects.get(study=study)
    answers = PageAnswers(participant)
    for number in range(1, 7):
        fill(page, answers.data(number))
        if number == 5:
            keep_shown_ranking(page)
        else:
            page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("link", name="Return to Prolific")).to_have_attribute(
        "href", "https://app.prolific.com/submissions/complete?cc=DONE1234"
    )
    participant.refresh_from_db()
    assert participant.source == "prolific" and len(participant.prolific_pid_pseudonym) == 64
    assert len(seen) >= 10
    for html in [*seen, page.content()]:
        for raw in (pid, prolific_study, session):
            assert raw not in html


def test_end_pages_are_accessible(page, live_server):
    study = StudyFactory()
    base = f"{live_server.url}/s/{study.slug}"
    page.goto(f"{base}/")
    page.get_by_label("I have read and understood the information above").check()
    page.get_by_role("button", name="Continue to the survey").click()
    page.locator("input[name=eligible_adult][value=no]").check()
    page.locator("input[name=eligible_lived_experience][value=yes]").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("[data-screenout-code]")).to_have_text(study.screenout_code)
    assert_accessible(page)
    page.goto(f"{live_server.url}/s/no-such-study/")
    expect(page.get_by_role("heading", name="We could not find this study")).to_be_visible()
    assert_accessible(page)
    closed = StudyFactory(status=StudyStatus.CLOSED)
    page.goto(f"{live_server.url}/s/{closed.slug}/")
    expect(page.get_by_role("heading", name="This study is not available")).to_be_visible()
    assert_accessible(page)
