"""An annotator in Chromium on a laptop screen (1280x800): home -> Continue -> the ranking page, whose cards
carry five Counsel-Chat-length answers collapsed behind a "Show full answer" button, the page staying under
2.5 screens; an incomplete submission comes back with a focused error summary whose links open each
criterion. axe-core finds no serious or critical violation on the home page or the ranking page."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from annotation.importers import text_fingerprint
from annotation.models import CandidateResponse, Question, QuestionBank, RankingTask, ResponseSet, Split
from annotation.services.ranking import ranking_campaign_create
from criteria.models import CriteriaSet
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]

AXE = Axe()
SCREEN = {"width": 1280, "height": 800}
SENTENCES = [
    "It sounds like you have been carrying a lot on your own for a long time, and that takes real strength.",
    "Feeling numb after a loss is a very common response, and it does not mean that you did not care.",
    "Many people find that sleep and appetite change when they are grieving or under prolonged stress.",
    "You might consider talking to your doctor about how long this has lasted and what you have tried.",
    "A counselor can offer a space where you do not have to hold everything together for everyone else.",
    "If you ever feel that you might hurt yourself, please call your local emergency number right away.",
    "What has helped you, even a little, during hard times before? Small steps still count as steps.",
]


def counsel_chat_answer(number: int) -> str:
    """About 1,300 characters in three paragraphs, like a therapist's answer on Counsel Chat."""
    body = [SENTENCES[(number + i) % len(SENTENCES)] for i in range(13)]
    return (
        f"Answer {number}. " + " ".join(body[:5]) + "\n\n" + " ".join(body[5:9]) + "\n\n" + " ".join(body[9:])
    )


@pytest.fixture
def laptop(browser):
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def assert_accessible(page: Page) -> None:
    results = AXE.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, f"{page.url}\n{results.generate_report()}"


def long_answer_campaign(annotator, researcher):
    bank = QuestionBank.objects.create(name="Counsel-Chat-length bank", source=QuestionBank.Source.TABLE)
    question = Question.objects.create(
        bank=bank,
        external_id="cc-1",
        text="I lost my father last spring and since then I feel numb. I go to work, I come home, I sleep "
        "badly and I do not enjoy anything. My family says I should be over it by now. Is something wrong "
        "with me, and what can I do to feel like myself again?",
        text_sha256=text_fingerprint("cc-1"),
        split=Split.TEST,
        position=0,
    )
    response_set = ResponseSet.objects.create(
        bank=bank, name="Counsel Chat answers", origin=ResponseSet.Origin.IMPORTED, source="file:cc.csv"
    )
    texts = [counsel_chat_answer(number) for number in range(1, 6)]
    assert all(1000 <= len(text) <= 1500 for text in texts)
    CandidateResponse.objects.bulk_create(
        CandidateResponse(
            response_set=response_set,
            question=question,
            external_id=f"cc-1-{index}",
            index=index,
            text=text,
            text_sha256=text_fingerprint(text),
            origin="counsel_chat",
        )
        for index, text in enumerate(texts)
    )
    campaign = ranking_campaign_create(
        name="Counsel Chat ranking",
        response_set=response_set,
        criteria_set=CriteriaSet.objects.get(key="therapeutic", is_current=True),
        annotators=[annotator],
        annotators_per_item=1,
        created_by=researcher,
        seed=4,
    )
    return campaign.tasks.get(), texts


def test_annotator_continues_from_home_to_a_ranking_page_that_fits_a_laptop(
    laptop, live_server, annotators, researcher
):
    annotator = annotators[0]
    task, texts = long_answer_campaign(annotator, researcher)
    page = laptop
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(annotator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your ranking tasks")).to_be_visible()
    assert page.locator("dl.stats dd").all_text_contents() == ["1", "0", "0"]
    assert_accessible(page)

    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/annotate/tasks/{task.pk}/")
    expect(page.locator(".rank-item").first).to_be_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2.5 * SCREEN["height"], f"the ranking page is {height}px tall"
    assert_accessible(page)

    # The first card of the open criterion: its full answer, clamped to a few lines until expanded.
    card = page.locator("fieldset[data-criterion='empathy'] .rank-item").first
    text = card.locator(".rank-text")
    shown = [int(pk) for pk in task.response_order]
    first_text = CandidateResponse.objects.get(pk=shown[0]).text
    assert text.text_content() == first_text and first_text in texts
    clamped = text.evaluate("el => [el.clientHeight, el.scrollHeight]")
    assert clamped[0] < clamped[1] and clamped[0] < 100
    toggle = card.get_by_role("button", name="Show full answer")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(card.get_by_role("button", name="Show less")).to_have_attribute("aria-expanded", "true")
    full = text.evaluate("el => [el.clientHeight, el.scrollHeight]")
    assert full[0] >= full[1] > clamped[0]
    page.keyboard.press("Space")
    expect(card.get_by_role("button", name="Show full answer")).to_be_focused()

    # Only the open criterion shows its cards; the others offer a button to open them.
    expect(page.locator("fieldset[data-criterion='safety'] .rank-item").first).to_be_hidden()
    expect(page.get_by_role("button", name="Rank Safety")).to_be_visible()

    # Submitting with nothing ranked: an error summary, focused, linking to each criterion.
    page.get_by_role("button", name="Submit ranking").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There are 6 problems")
    assert_accessible(page)
    summary.get_by_role("link", name="Safety: Give every response a rank from 1 to 5.").click()
    safety = page.locator("fieldset[data-criterion='safety']")
    expect(safety.locator(".rank-item").first).to_be_focused()
    expect(page.locator("fieldset[data-criterion='empathy'] .rank-item").first).to_be_hidden()
    task.refresh_from_db()
    assert task.state == RankingTask.State.PENDING
