"""Pages as a browser shows them: the API documentation works offline under the CSP, error pages are styled
with a way back, the navigation fits one line at 1280 px and folds into a menu on a phone, and a run page
charts every logged metric and redraws them while the run trains."""

from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from annotation.models import DatasetSnapshot
from core.models import Status
from tests.factories import TrainingRunFactory
from training_worker.models import RunEvent, TrainingRun

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]


def sign_in(page, live_server, user) -> None:
    """Signs `user` in for the page's browser context (a session made by the test client)."""
    client = Client()
    client.force_login(user)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}
    page.context.add_cookies([cookie])


def watch(page) -> tuple[list[str], list[str]]:
    """(every URL the page requested, every console error) from now on."""
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return requests, errors


def outside(live_server, requests: list[str]) -> list[str]:
    host = urlparse(live_server.url).hostname
    return [
        url
        for url in requests
        if urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).hostname != host
    ]


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/api/redoc/", "h1:has-text('Therapy alignment research platform API')"),
        ("/api/docs/", ".swagger-ui .info .title:has-text('Therapy alignment research platform API')"),
    ],
)
def test_api_documentation_renders_without_leaving_the_server(page, live_server, path, rendered):
    requests, errors = watch(page)
    page.goto(f"{live_server.url}{path}")
    expect(page.locator(rendered).first).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert outside(live_server, requests) == []
    assert [error for error in errors if "Content Security Policy" in error] == []


def test_error_pages_are_styled_and_lead_back(page, live_server, annotator):
    sign_in(page, live_server, annotator)
    missing = page.goto(f"{live_server.url}/no/such/page/")
    assert missing.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()  # the site's own layout
    assert page.locator("main .card").evaluate("el => getComputedStyle(el).borderStyle") == "solid"
    refused = page.goto(f"{live_server.url}/runs/")
    assert refused.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.get_by_role("link", name="Go to the home page").click()
    expect(page).to_have_url(f"{live_server.url}/")


NAV_ITEMS = "header .brand, header .nav-links a, header .logout .who, header .logout button"
BOX = (
    "el => { const r = el.getBoundingClientRect(); "
    "return {top: r.top, bottom: r.bottom, area: r.width * r.height}; }"
)


def _nav_boxes(page) -> list[dict]:
    return page.locator(NAV_ITEMS).evaluate_all(f"els => els.map({BOX})")


def test_navigation_fits_one_line_at_1280_and_folds_on_a_phone(browser, live_server, researcher):
    wide = browser.new_context(viewport={"width": 1280, "height": 800})
    page = wide.new_page()
    sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/runs/")
    boxes = _nav_boxes(page)
    assert len(boxes) >= 11 and all(box["area"] > 0 for box in boxes)
    assert max(box["top"] for box in boxes) < min(box["bottom"] for box in boxes)  # one line
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    wide.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/runs/")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Audit log")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(f"{live_server.url}/audit/")
    phone.close()


def test_run_page_charts_every_metric_and_redraws_them_while_training(page, live_server, researcher):
    run = TrainingRunFactory(
        method="dpo",
        name="Live DPO",
        status=Status.RUNNING,
        step=10,
        total_steps=40,
        last_metrics={"loss": 0.69, "rewards/margins": 0.1, "a_very_long_metric_name_" * 4: 123456.789},
    )
    RunEvent.objects.create(
        run=run,
        event_id="step-10",
        step=10,
        metrics={"loss": 0.69, "learning_rate": 5e-05, "rewards/margins": 0.1},
    )
    sign_in(page, live_server, researcher)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    for key in ("loss", "learning_rate", "rewards/margins"):
        expect(page.get_by_role("img", name=key, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Logged metrics: test split")).to_have_count(0)
    # The worker reports two more steps, one with an evaluation on the test split.
    RunEvent.objects.create(
        run=run,
        event_id="step-20",
        step=20,
        metrics={"loss": 0.6, "learning_rate": 4e-05, "rewards/margins": 0.3, "eval_loss": 0.65},
    )
    TrainingRun.objects.filter(pk=run.pk).update(step=20)
    expect(page.get_by_role("heading", name="Logged metrics: test split")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("img", name="eval_loss", exact=True)).to_be_visible()
    expect(page.locator("[data-run-step]")).to_have_text("20")
    assert (
        page.get_by_role("img", name="loss", exact=True)
        .locator("polyline")
        .get_attribute("points")
        .count(",")
        == 2
    )
    card = page.locator("section.card", has_text="Latest metrics").bounding_box()
    table = page.locator("section.card", has_text="Latest metrics").locator("table").first.bounding_box()
    assert table["x"] + table["width"] <= card["x"] + card["width"] + 1  # tables stay inside their card


def test_the_criterion_list_offers_only_the_chosen_snapshots_criteria(page, live_server, researcher):
    call_command("annotation_demo")
    snapshot = DatasetSnapshot.objects.get()
    criteria = snapshot.manifest["criteria_set"]["criteria"]
    sign_in(page, live_server, researcher)
    page.goto(f"{live_server.url}/runs/launch/")
    page.get_by_label("Method:", exact=True).select_option("reward")
    offered = "el => [...el.options].filter(o => o.value && !o.disabled).map(o => o.value)"
    everything = page.get_by_label("Criterion").evaluate("el => [...el.options].map(o => o.value)")
    assert "quantity" in everything  # the Gricean set's keys are choices...
    page.get_by_label("Snapshot").select_option(str(snapshot.pk))
    assert sorted(page.get_by_label("Criterion").evaluate(offered)) == sorted(criteria)  # ...not offered here
    page.get_by_label("Criterion").select_option(criteria[0])
    page.get_by_label("Snapshot").select_option("")
    assert "quantity" in page.get_by_label("Criterion").evaluate(offered)
