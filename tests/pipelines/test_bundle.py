"""The study bundle: a zip with the plan, the snapshot manifest, each run's config, metrics and artifact
hashes, the evaluation's results, the figures and a README saying how each was produced; researchers only,
every export audit-logged."""

import hashlib
import io
import json
import zipfile

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.models import AuditEvent
from pipelines.models import PipelineFigure
from tests.pipelines.chain import run_chain, start, step
from training_worker.models import RunArtifact

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(snapshot, researcher, base, backbone, django_capture_on_commit_callbacks):
    pipeline = start(snapshot, researcher, django_capture_on_commit_callbacks)
    run_chain(pipeline, django_capture_on_commit_callbacks)
    return pipeline


def download(user, url: str) -> zipfile.ZipFile:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_the_bundles_hashes_match_the_database(finished, researcher):
    bundle = download(researcher, f"/pipelines/{finished.pk}/bundle.zip")
    names = set(bundle.namelist())
    assert {
        "plan.yaml",
        "snapshot-manifest.json",
        "pipeline.json",
        "README.md",
        "evaluations/h2h.json",
    } <= names
    assert bundle.read("plan.yaml").decode() == finished.plan.text
    assert hashlib.sha256(bundle.read("plan.yaml")).hexdigest() == finished.plan.sha256
    assert json.loads(bundle.read("snapshot-manifest.json")) == finished.snapshot.manifest
    recorded = 0
    for row in finished.steps.all():
        if f"runs/{row.name}.json" not in names:
            continue
        for run in json.loads(bundle.read(f"runs/{row.name}.json")):
            stored = {a.name: (a.sha256, a.size) for a in RunArtifact.objects.filter(run_id=run["id"])}
            assert {a["name"]: (a["sha256"], a["size"]) for a in run["artifacts"]} == stored
            assert stored, f"{row.name}: run {run['id']} has no artifact"
            recorded += 1
    assert recorded == 7  # six training and generation runs and the scoring run
    assert not [
        name for name in names if name.endswith((".bin", ".safetensors", ".jsonl"))
    ]  # no artifact bytes
    evaluation = step(finished, "h2h").evaluation
    assert json.loads(bundle.read("evaluations/h2h.json"))["results"] == evaluation.results
    readme = bundle.read("README.md").decode()
    for figure in PipelineFigure.objects.filter(step__pipeline=finished):
        content = bundle.read(f"figures/{figure.filename}")
        assert hashlib.sha256(content).hexdigest() == figure.sha256 and f"`{figure.sha256}`" in readme
    assert "## tradeoff" in readme and "## modpo-pareto" in readme
    assert f"from the stored results of step `h2h` (evaluation #{evaluation.pk}" in readme
    assert finished.plan.sha256 in readme and finished.snapshot.content_hash in readme


def test_the_bundle_is_audit_logged_and_for_researchers_only(finished, researcher, clinician):
    api = APIClient()
    api.force_authenticate(researcher)
    response = api.get(f"/api/pipelines/{finished.pk}/bundle/")
    assert response.status_code == 200 and zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None
    event = AuditEvent.objects.filter(action="pipeline.export").latest("pk")
    assert event.actor == researcher and event.detail["plan"] == finished.plan.sha256
    api.force_authenticate(clinician)
    assert api.get(f"/api/pipelines/{finished.pk}/bundle/").status_code == 403
    client = Client()
    client.force_login(clinician)
    assert client.get(f"/pipelines/{finished.pk}/bundle.zip").status_code == 403
    assert AuditEvent.objects.filter(action="pipeline.export").count() == 1


def test_the_pipeline_page_offers_the_bundle(finished, researcher):
    client = Client()
    client.force_login(researcher)
    assert (
        f'href="/pipelines/{finished.pk}/bundle.zip"'
        in client.get(f"/pipelines/{finished.pk}/").content.decode()
    )
