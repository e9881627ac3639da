"""The pipeline page (DAG as SVG, plan and hash, live refresh), "Reproduce" from a snapshot, the researcher
API and the `pipeline` command's exit codes."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from pipelines.models import PipelinePlan, PipelineRun
from pipelines.services.engine import plan_store
from tests.pipelines.chain import CHAIN_TEXT, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(snapshot, researcher, base, backbone, django_capture_on_commit_callbacks):
    return start(snapshot, researcher, django_capture_on_commit_callbacks)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_pipeline_page_draws_the_dag_as_svg_with_each_steps_state(chain, researcher):
    page = signed_in(researcher).get(f"/pipelines/{chain.pk}/").content.decode()
    assert '<svg class="pipeline-dag"' in page
    assert page.count('class="dag-node state-running"') == 4
    assert page.count('class="dag-node state-waiting"') == 4
    assert page.count('<line class="dag-edge"') == 8
    assert chain.plan.sha256 in page and "format: pipeline-plan-v1" in page
    assert "pipelines/pipeline-live.js" in page
    assert f'href="/runs/{chain.steps.get(name="sft").training_run_id}/"' in page


def test_the_pipeline_pages_are_for_researchers_only(chain, clinician):
    assert signed_in(clinician).get(f"/pipelines/{chain.pk}/").status_code == 403
    assert Client().get("/pipelines/").status_code == 302


def test_reproduce_on_a_snapshot_starts_a_shipped_plan_on_it(snapshot, researcher):
    client = signed_in(researcher)
    snapshot_page = client.get(f"/annotation/snapshots/{snapshot.pk}/").content.decode()
    assert f"/pipelines/start/?snapshot={snapshot.content_hash}" in snapshot_page
    form = client.get(f"/pipelines/start/?snapshot={snapshot.content_hash}").content.decode()
    assert f'value="{snapshot.content_hash}" selected' in form and "demo.yaml" in form
    # the demo plan's models are not registered here: refused on the form, nothing stored
    response = client.post("/pipelines/start/", {"plan": "demo", "snapshot": snapshot.content_hash})
    assert response.status_code == 200
    assert "no registered causal_lm model is named" in response.content.decode()
    assert not PipelineRun.objects.exists()


def test_the_api_validates_starts_and_reports_a_pipeline(snapshot, researcher_api, base, backbone):
    refused = researcher_api.post("/api/pipelines/validate/", {"plan": "steps: []"}, format="json")
    assert refused.status_code == 400 and any("format must be" in m for m in refused.json()["plan"])
    valid = researcher_api.post("/api/pipelines/validate/", {"plan": CHAIN_TEXT}, format="json")
    assert valid.status_code == 200 and len(valid.json()["steps"]) == 8
    body = {"plan": CHAIN_TEXT, "snapshot": snapshot.content_hash}
    started = researcher_api.post("/api/pipelines/", body, format="json")
    assert started.status_code == 201, started.content
    document = researcher_api.get(f"/api/pipelines/{started.json()['id']}/").json()
    assert document["plan"]["sha256"] == PipelinePlan.objects.get().sha256
    assert {step["name"]: step["state"] for step in document["steps"]}["sft"] == "running"
    cancelled = researcher_api.post(f"/api/pipelines/{document['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert researcher_api.post(f"/api/pipelines/{document['id']}/cancel/").status_code == 409
    retry = researcher_api.post(f"/api/pipelines/{document['id']}/retry/", {"step": "sft"}, format="json")
    assert retry.status_code == 409


def test_the_same_plan_text_is_stored_once_and_a_new_text_is_a_new_version(db):
    first = plan_store(text=CHAIN_TEXT, created_by=None)
    assert plan_store(text=CHAIN_TEXT, created_by=None) == first
    second = plan_store(text=CHAIN_TEXT + "# tuned\n", created_by=None)
    assert (first.version, second.version) == (1, 2) and second.sha256 != first.sha256


def test_the_api_refuses_other_roles(clinician_api):
    assert (
        clinician_api.post("/api/pipelines/validate/", {"plan": CHAIN_TEXT}, format="json").status_code == 403
    )


def test_pipeline_validate_exits_0_for_the_shipped_plans_and_1_with_a_message_per_problem(tmp_path):
    for name in ("paper", "demo"):
        out = StringIO()
        call_command("pipeline", "validate", f"pipelines/{name}.yaml", stdout=out)
        assert "is valid" in out.getvalue()
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        CHAIN_TEXT.replace("empathy: 0.6", "empathy: 0.8").replace("safety: 0.4", "safety: 0.2")
    )
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("pipeline", "validate", str(broken), stderr=err)
    assert caught.value.returncode == 1
    assert "step 'modpo.w1'" in err.getvalue() and "below the safety floor" in err.getvalue()


def test_pipeline_run_prints_every_steps_status_as_one_json_document(snapshot, base, backbone, tmp_path):
    plan = tmp_path / "chain.yaml"
    plan.write_text(CHAIN_TEXT)
    out = StringIO()
    call_command("pipeline", "run", str(plan), "--snapshot", snapshot.content_hash, stdout=out)
    document = json.loads(out.getvalue())
    assert document["snapshot"] == snapshot.content_hash and len(document["steps"]) == 8
    with pytest.raises(CommandError, match="No frozen snapshot"):
        call_command("pipeline", "run", str(plan), "--snapshot", "0" * 64)
