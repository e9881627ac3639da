"""An annotator ranks a task in Chromium with the keyboard only: Alt+arrows and Space/arrows to reorder,
a button to confirm an order, Enter to submit; the stored ranking matches what was done on screen."""

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from annotation.models import HumanRanking, RankingTask
from annotation.services.ranking import ranking_campaign_create
from tests.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(scope="module")
def seed_data_kept(django_db_setup, django_db_blocker):
    """Put the migrations' seed data back after this module's transactional test.

    Under Playwright's sync API, `connections["default"]` inside a test is not the object that holds the
    test database's serialized contents, so serialized_rollback silently restores nothing and the flush
    re-creates content types. Capture the contents before the browser starts and, once the module is done
    (after the test's flush), flush without post_migrate and load them back, as Django itself would.
    """
    contents = connections["default"]._test_serialized_contents
    yield
    with django_db_blocker.unblock():
        call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)
        connections["default"].creation.deserialize_db_from_string(contents)


@pytest.fixture(scope="module")
def chromium(seed_data_kept):
    """Debian's Chromium for this module only (tests/browser keeps its own session-wide instance)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}.")
        pytest.skip(f"Chromium not installed at {CHROMIUM}.")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def tab_to(page, predicate: str, limit: int = 80) -> None:
    """Press Tab until the focused element satisfies the JS `predicate` (given `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return Boolean({predicate}); }})()"):
            return
    raise AssertionError(f"Tab never reached an element where {predicate}")


def test_annotator_ranks_with_the_keyboard_only(
    page, live_server, response_set, mini_criteria, annotators, researcher
):
    annotator = annotators[0]
    campaign = ranking_campaign_create(
        name="Keyboard campaign",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=[annotator],
        annotators_per_item=1,
        created_by=researcher,
        seed=2,
    )
    task = campaign.tasks.order_by("id").first()

    page.goto(f"{live_server.url}/annotate/")
    page.get_by_label("Username").fill(annotator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My ranking tasks")).to_be_visible()
    expect(page.get_by_text("0 of 4 done")).to_be_visible()
    tab_to(page, "el.textContent.trim() === 'Start'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/annotate/tasks/{task.pk}/")
    empathy = page.locator("fieldset[data-criterion='empathy']")
    expect(empathy.locator(".rank-status")).to_have_text(
        "Not ranked yet: order the responses or confirm the order."
    )

    # Empathy: Response 1 goes down two places with Alt+ArrowDown, then up one by Space, ArrowUp, Space.
    tab_to(page, "el.classList.contains('rank-item') && el.dataset.position === '1'")
    page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Alt+ArrowDown")
    expect(empathy.locator(".rank-item").nth(2)).to_have_attribute("data-position", "1")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    expect(page.locator("#ranking-announcer")).to_contain_text("Response 1 dropped at place 2")
    order = [empathy.locator(".rank-item").nth(i).get_attribute("data-position") for i in range(5)]
    assert order == ["2", "1", "3", "4", "5"]
    expect(empathy.locator(".rank-status")).to_have_text("Ranked.")

    # Safety: open it (one criterion is open at a time), keep the order shown, confirmed with its button.
    tab_to(page, "el.textContent === 'Rank Safety'")
    page.keyboard.press("Enter")
    expect(page.locator("fieldset[data-criterion='safety'] .rank-item").first).to_be_focused()
    tab_to(page, "el.textContent === 'This order is right for Safety'")
    page.keyboard.press("Enter")
    tab_to(page, "el.textContent.trim() === 'Submit ranking'")
    page.keyboard.press("Enter")

    following = campaign.tasks.order_by("id")[1]
    expect(page).to_have_url(f"{live_server.url}/annotate/tasks/{following.pk}/")
    task.refresh_from_db()
    assert task.state == RankingTask.State.SUBMITTED
    shown = [int(pk) for pk in task.response_order]
    canonical = list(
        response_set.responses.filter(question=task.question).order_by("index").values_list("pk", flat=True)
    )
    empathy_ranks = HumanRanking.objects.get(task=task, criterion_key="empathy")
    assert empathy_ranks.raw["ranks"] == [2, 1, 3, 4, 5]  # display positions 1..5
    assert empathy_ranks.ranks[canonical.index(shown[1])] == 1  # the second response shown is now best
    assert HumanRanking.objects.get(task=task, criterion_key="safety").raw["ranks"] == [1, 2, 3, 4, 5]
