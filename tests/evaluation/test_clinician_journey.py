"""A clinician rates a blinded study in Chromium with the keyboard only, and nothing their browser receives
(HTML, JSON, scripts, URLs, headers) names a model, run, response set or checkpoint of the study."""

import re

import pytest
from playwright.sync_api import Page, expect

from annotation.models import ResponseSet
from evaluation.models import StudyAssignment, StudyRating
from tests.evaluation.helpers import make_study
from tests.factories import PASSWORD, TrainingRunFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]

TOKEN_URL = re.compile(r"/clinician/(items|studies)/([A-Za-z0-9_-]+)/")
CHECKPOINT = "/checkpoints/zz-modpo-survey-ckpt-77/adapter"


def _blinded_study(researcher):
    study, clinicians = make_study(
        researcher=researcher,
        n_clinicians=2,
        n_scenarios=3,
        n_questions=3,
        models=("zz-modpo-survey-7f3a", "zz-base-model-9c1d"),
        name="Zz secret study name",
        label_a="ZzTrainedLabel",
        label_b="ZzBaseLabel",
        ask_blinding_guess=True,
        clinician_title="Comparing support responses",
        instructions="Read both responses before choosing.",
    )
    generation = TrainingRunFactory(
        method="generate", name="generate: zz-secret-generation", config={"policy": CHECKPOINT}
    )
    ResponseSet.objects.filter(pk=study.response_set_a_id).update(
        training_run=generation, source=f"model:{CHECKPOINT}"
    )
    forbidden = [
        "ZzTrainedLabel",
        "ZzBaseLabel",
        "Zz secret study name",
        "zz-modpo-survey-7f3a",
        "zz-base-model-9c1d",
        "zz-secret-generation",
        CHECKPOINT,
        "zz-modpo-survey-ckpt-77",
        f"/runs/{generation.pk}/",
        f"response-sets/{study.response_set_a_id}",
        f"response-sets/{study.response_set_b_id}",
        f"/evaluations/studies/{study.pk}/",
    ]
    return clinicians[0], forbidden


def _tab_to(page, predicate_js: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {predicate_js}; }})()"):
            return
    raise AssertionError(f"never reached an element where {predicate_js}")


def test_keyboard_only_journey_leaks_no_identifier(page: Page, live_server, researcher):
    clinician, forbidden = _blinded_study(researcher)
    own = list(StudyAssignment.objects.filter(clinician=clinician).order_by("sequence"))
    received: list[tuple[str, dict, str]] = []

    def collect(response) -> None:
        try:
            body = response.body().decode("utf-8", "replace")
        except Exception:  # redirects have no body
            body = ""
        received.append((response.url, dict(response.headers), body))

    page.on("response", collect)
    page.goto(f"{live_server.url}/clinician/")
    expect(page.get_by_label("Username")).to_be_focused()  # it has focus on arrival
    page.keyboard.type(clinician.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My comparisons")).to_be_visible()
    expect(page.get_by_role("heading", name="Comparing support responses")).to_be_visible()

    _tab_to(page, "el.textContent.trim() === 'Start with the first item'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("item 1 of 3"))).to_be_visible()
    expect(page.locator("[data-shortcuts=on]")).to_be_attached()  # the shortcut script is listening
    expect(page.get_by_role("heading", name="Response A")).to_be_visible()
    expect(page.get_by_role("heading", name="Response B")).to_be_visible()

    # Three answers, then save a draft with S and come back to it.
    for key in ("a", "b", "t"):
        page.keyboard.press(key)
    page.keyboard.press("s")
    expect(page.get_by_text("Saved. You can come back to this item later.")).to_be_visible()
    expect(page.locator("[data-shortcuts=on]")).to_be_attached()
    expect(page.get_by_role("radio", name="Response B is better").nth(1)).to_be_checked()
    # The remaining four criteria, a flag, a comment, then Enter submits and moves on.
    for key in ("a", "a", "b", "t"):
        page.keyboard.press(key)
    page.keyboard.press("f")
    page.keyboard.press("c")
    page.keyboard.type("Response B ignores the sleep problem.")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    for number in (2, 3):
        expect(page.get_by_role("heading", name=re.compile(f"item {number} of 3"))).to_be_visible()
        expect(page.locator("[data-shortcuts=on]")).to_be_attached()
        for key in ("b", "a", "t", "a", "b", "a", "a"):
            page.keyboard.press(key)
        page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="One last question")).to_be_visible()
    _tab_to(page, "el.type === 'radio'")
    for _ in range(3):
        page.keyboard.press("Space")  # selects "Response A" in this item's group
        page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save my answers")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Thank you. Your answers are saved.")).to_be_visible()

    # The JSON API the clinician may call is part of the surface too.
    page.goto(f"{live_server.url}/api/clinician/items/{own[0].token}/")
    page.goto(f"{live_server.url}/api/clinician/studies/")

    for assignment in own:
        assignment.refresh_from_db()
    assert all(a.is_submitted for a in own) and [a.blinding_guess for a in own] == ["A", "A", "A"]
    first = own[0]
    assert first.flagged_unsafe and first.comment == "Response B ignores the sleep problem."
    assert list(first.ratings.order_by("id").values_list("choice", flat=True)) == [
        "A",
        "B",
        "tie",
        "A",
        "A",
        "B",
        "tie",
    ]
    assert StudyRating.objects.filter(assignment__clinician=clinician).count() == 3 * 7

    assert len(received) > 10
    pks = {str(a.pk) for a in own} | {str(a.item_id) for a in own}
    for url, headers, body in received:
        surface = "\n".join([url, *(f"{k}: {v}" for k, v in headers.items()), body])
        for identifier in forbidden:
            assert identifier.lower() not in surface.lower(), f"{identifier!r} leaked via {url}"
        match = TOKEN_URL.search(url)
        if match:
            assert match.group(2) not in pks and len(match.group(2)) >= 20, url
