"""In Chromium: the pipeline page draws the DAG and follows the pipeline, reloading as steps finish."""

import pytest
from playwright.sync_api import expect

from pipelines.services.engine import pipeline_start, plan_store
from tests.factories import PASSWORD
from tests.pipelines.chain import CHAIN_TEXT, run_of
from tests.training_worker.play_worker import worker_finish

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]


def test_the_pipeline_page_follows_steps_as_they_finish(
    live_server, page, researcher, snapshot, base, backbone, tmp_path
):
    pipeline = pipeline_start(
        plan=plan_store(text=CHAIN_TEXT, created_by=researcher), snapshot=snapshot, created_by=researcher
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(researcher.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/pipelines/{pipeline.pk}/")
    dag = page.locator("svg.pipeline-dag")
    expect(dag).to_be_visible()
    expect(dag.locator(".state-running")).to_have_count(4)
    for name in ("reward.safety", "sft"):
        worker_finish(
            run_of(pipeline, name), artifacts={"model" if name.startswith("reward") else "adapter": b"w"}
        )
    # no click: the page sees the states change and reloads
    expect(dag.locator(".state-succeeded")).to_have_count(2, timeout=15_000)
    expect(dag.locator(".state-running")).to_have_count(3)  # reward.empathy, generate.policy, modpo.w1
    expect(page.get_by_text("modpo.w1").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "pipeline.png"), full_page=True)
