"""The model registry and the model picker: researchers register starting models (page, API, admin, all
audit-logged), and every model question (launch, generation) takes a registered model or a trained policy,
checked on the server."""

import pytest
from django.test import Client

from core.models import AuditEvent, Status
from tests.factories import TrainingRunFactory
from training_worker.base_models import BaseModelError, base_model_ensure, base_model_register
from training_worker.model_picker import ModelChoiceError, model_choice_resolve
from training_worker.models import BaseModel, RunArtifact, TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_dir(tmp_path) -> str:
    path = tmp_path / "tiny-policy"
    path.mkdir()
    return str(path)


def policy_run(*, status: str = Status.SUCCEEDED, method: str = "dpo", artifact: str | None = "adapter"):
    run = TrainingRunFactory(method=method, status=status)
    if artifact:
        RunArtifact.objects.create(
            run=run, name=artifact, file=f"run-artifacts/p-{run.pk}", sha256="b" * 64, size=1
        )
    return run


def test_registering_checks_the_path_and_the_name_and_is_audit_logged(researcher, model_dir):
    model = base_model_register(name=" Tiny ", path=model_dir, kind="causal_lm", created_by=researcher)
    assert (model.name, model.path, model.created_by) == ("Tiny", model_dir, researcher)
    event = AuditEvent.objects.get(action="base_model.register")
    assert event.actor == researcher and event.detail["path"] == model_dir
    with pytest.raises(BaseModelError) as caught:
        base_model_register(name="Tiny", path="/no/such/dir", kind="causal_lm", created_by=researcher)
    assert "already" in caught.value.field_errors["name"][0]
    assert "does not exist" in caught.value.field_errors["path"][0]
    with pytest.raises(BaseModelError) as caught:
        base_model_register(name="Other", path=model_dir, kind="causal_lm", created_by=researcher)
    assert "registered already" in caught.value.field_errors["path"][0]
    # Ensuring the same path again (the demo does on every start) finds the model, registers nothing.
    assert base_model_ensure(name="Again", path=model_dir, kind="causal_lm", created_by=None) == model
    assert BaseModel.objects.count() == 1


def test_hub_ids_only_where_hub_downloads_are_allowed(researcher, settings):
    settings.ALLOW_HUB_MODELS = False
    with pytest.raises(BaseModelError, match="does not exist"):
        base_model_register(name="Mistral", path="mistralai/Mistral-7B", kind="causal_lm", created_by=None)
    settings.ALLOW_HUB_MODELS = True
    model = base_model_register(
        name="Mistral", path="mistralai/Mistral-7B", kind="causal_lm", created_by=None
    )
    assert model.path == "mistralai/Mistral-7B"
    with pytest.raises(BaseModelError, match="neither"):
        base_model_register(name="Run 5", path="Run 5", kind="causal_lm", created_by=None)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: "Run 5", "Choose a registered base model"),
        (lambda: "run:999999", "No run #999999"),
        (lambda: "base:999999", "No registered base model #999999"),
        (lambda: f"run:{policy_run(status=Status.RUNNING).pk}", "has not succeeded"),
        (lambda: f"run:{policy_run(method='reward', artifact='model').pk}", "is not a policy"),
        (lambda: f"run:{policy_run(artifact=None).pk}", "left no policy artifact"),
    ],
)
def test_the_server_refuses_unusable_choices(build, message):
    with pytest.raises(ModelChoiceError) as caught:
        model_choice_resolve(build(), field="model")
    assert message in caught.value.field_errors["model"][0]


def test_models_page_lists_and_registers(researcher, model_dir):
    client = Client()
    client.force_login(researcher)
    response = client.post(
        "/models/", {"name": "Tiny policy", "path": model_dir, "kind": "causal_lm", "notes": "2 layers"}
    )
    assert response.status_code == 302
    page = client.get("/models/").content.decode()
    assert "Tiny policy" in page and model_dir in page and "2 layers" in page
    refused = client.post("/models/", {"name": "Ghost", "path": "/no/such/dir", "kind": "causal_lm"})
    assert refused.status_code == 400 and "does not exist" in refused.content.decode()
    assert list(BaseModel.objects.values_list("name", flat=True)) == ["Tiny policy"]


def test_models_api_lists_registers_and_offers_the_picker_choices(researcher_api, clinician_api, model_dir):
    created = researcher_api.post(
        "/api/models/", {"name": "Tiny", "path": model_dir, "kind": "causal_lm"}, format="json"
    )
    assert created.status_code == 201 and created.json()["path"] == model_dir
    bad = researcher_api.post(
        "/api/models/", {"name": "X", "path": "/nope", "kind": "causal_lm"}, format="json"
    )
    assert bad.status_code == 400 and "does not exist" in bad.json()["path"][0]
    assert [m["name"] for m in researcher_api.get("/api/models/").json()] == ["Tiny"]
    policy = policy_run()
    choices = researcher_api.get("/api/models/choices/").json()
    assert {(c["value"], c["group"]) for c in choices} == {
        (f"base:{created.json()['id']}", "Registered base models"),
        (f"run:{policy.pk}", "Trained policies (succeeded runs)"),
    }
    assert clinician_api.get("/api/models/").status_code == 403


def test_launch_api_takes_the_picker_value_or_a_registered_path(
    researcher_api, model_dir, django_capture_on_commit_callbacks
):
    base = BaseModel.objects.create(name="Tiny", path=model_dir)
    policy = policy_run()
    first, second = policy_run(), policy_run()
    merge = {"method": "merge", "merge_runs": [first.pk, second.pk], "hyper": {"merge_weights": [0.5, 0.5]}}
    with django_capture_on_commit_callbacks(execute=False):
        # `model` is ignored by methods that take no starting model; a merge names its runs.
        ok = researcher_api.post("/api/runs/launch/", {"name": "soup", **merge}, format="json")
    assert ok.status_code == 201, ok.json()
    body = {"method": "sft"}
    unknown_path = researcher_api.post(
        "/api/runs/launch/", {"name": "x", **body, "base_model": "/elsewhere"}, format="json"
    )
    assert (
        unknown_path.status_code == 400 and "No registered base model" in unknown_path.json()["base_model"][0]
    )
    both = researcher_api.post(
        "/api/runs/launch/",
        {"name": "x", **body, "model": f"base:{base.pk}", "parent_policy": policy.pk},
        format="json",
    )
    assert both.status_code == 400 and "only one" in both.json()["parent_policy"][0]
    typed = researcher_api.post("/api/runs/launch/", {"name": "x", **body, "model": "Run 5"}, format="json")
    assert typed.status_code == 400 and "model" in typed.json()
    assert not TrainingRun.objects.filter(name="x").exists()
