"""Run pages name the data split of every figure and metric; a succeeded policy's page offers "use this model"
(generate responses, train from it), and generation is started from a policy, a bank or the API with the
model picker."""

import re

import pytest
from django.test import Client

from annotation.models import ResponseSet
from core.models import Status
from tests.factories import TrainingRunFactory
from training_worker.models import RunArtifact, RunEvent, TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher_client(researcher) -> Client:
    client = Client()
    client.force_login(researcher)
    return client


@pytest.fixture
def policy() -> TrainingRun:
    run = TrainingRunFactory(
        method="sft",
        name="SFT chosen",
        status=Status.SUCCEEDED,
        config={"base_model": "/models/tiny"},
        step=20,
        last_metrics={"loss": 0.71, "test/loss": 0.83, "test/empathy/reward_accuracy": 0.6, "eta_seconds": 0},
        result={"metrics": {"train_loss": 0.7, "test/loss": 0.8, "steps": 20}},
    )
    RunArtifact.objects.create(run=run, name="adapter", file="run-artifacts/sft", sha256="c" * 64, size=1)
    for step, train, test in ((10, 0.9, None), (20, 0.71, 0.83)):
        metrics = {"loss": train, **({"test/loss": test} if test is not None else {})}
        RunEvent.objects.create(run=run, event_id=f"s{step}", step=step, metrics=metrics)
    return run


def tables(page: str) -> dict[str, list[str]]:
    """{caption: [row header keys]} of the page's metric tables."""
    found = {}
    for caption, body in re.findall(r"<caption>([^<]*)</caption>(.*?)</table>", page, flags=re.S):
        found[caption] = re.findall(r'<th scope="row">([^<]*)</th>', body)
    return found


def test_run_page_names_the_split_of_its_chart_and_metric_tables(researcher_client, policy):
    page = researcher_client.get(f"/runs/{policy.pk}/").content.decode()
    assert "Loss: train split vs test split" in page
    assert ">train split</text>" in page and ">test split</text>" in page  # the chart's legend
    metric_tables = tables(page)
    assert metric_tables["train split (step 20)"] == ["eta_seconds", "loss"]
    assert metric_tables["test split (step 20)"] == ["test/empathy/reward_accuracy", "test/loss"]
    assert metric_tables["train split"] == ["train_loss"] and metric_tables["test split"] == ["test/loss"]
    assert metric_tables["whole run"] == ["steps"]


def test_compare_page_labels_metric_splits(researcher_client, policy):
    page = researcher_client.get(f"/runs/compare/?ids={policy.pk}").content.decode()
    assert "test/loss <small>(test)</small>" in page and "train_loss <small>(train)</small>" in page


def test_only_a_usable_policy_offers_use_this_model(researcher_client, policy):
    page = researcher_client.get(f"/runs/{policy.pk}/").content.decode()
    assert f'href="/runs/{policy.pk}/generate/"' in page and f"?model=run:{policy.pk}" in page
    reward = TrainingRunFactory(method="reward", status=Status.SUCCEEDED)
    assert "Use this model" not in researcher_client.get(f"/runs/{reward.pk}/").content.decode()
    assert researcher_client.get(f"/runs/{reward.pk}/generate/").status_code == 404


def test_generate_from_a_policy_page(researcher_client, policy, snapshot, django_capture_on_commit_callbacks):
    form = researcher_client.get(f"/runs/{policy.pk}/generate/").content.decode()
    assert f'<option value="run:{policy.pk}" selected>' in form and snapshot.name in form
    body = {
        "snapshot": snapshot.pk,
        "split": "test",
        "name": "SFT answers",
        "model": f"run:{policy.pk}",
        "num_responses": 2,
        "temperature": 0.7,
        "top_p": 1.0,
        "max_new_tokens": 32,
        "batch_size": 4,
        "seed": 0,
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = researcher_client.post(f"/runs/{policy.pk}/generate/", body)
    generated = ResponseSet.objects.get(name="SFT answers")
    assert response.status_code == 302 and response.url == f"/annotation/response-sets/{generated.pk}/"
    assert len(callbacks) == 1 and generated.state == ResponseSet.State.GENERATING
    run = generated.training_run
    assert list(run.parents.all()) == [policy] and run.config["policy"] == "input:policy/adapter"
    assert (run.config["num_responses"], run.config["temperature"], run.config["split"]) == (2, 0.7, "test")
    # Greedy decoding with K > 1 is refused on its field; nothing is created.
    refused = researcher_client.post(
        f"/runs/{policy.pk}/generate/", {**body, "name": "greedy", "temperature": 0}
    )
    assert refused.status_code == 400 and "Greedy decoding" in refused.content.decode()
    assert not ResponseSet.objects.filter(name="greedy").exists()


def test_generate_from_a_bank_page_with_a_registered_model(
    researcher_client, snapshot, base, django_capture_on_commit_callbacks
):
    bank = snapshot.response_set.bank
    form = researcher_client.get(f"/annotation/banks/{bank.pk}/generate/").content.decode()
    assert f'value="base:{base.pk}"' in form
    body = {
        "snapshot": snapshot.pk,
        "split": "test",
        "name": "Base answers",
        "model": "Run 5",  # typed text is not a choice
        "num_responses": 1,
        "temperature": 0.8,
        "top_p": 1.0,
        "max_new_tokens": 32,
        "batch_size": 4,
        "seed": 0,
    }
    refused = researcher_client.post(f"/annotation/banks/{bank.pk}/generate/", body)
    assert refused.status_code == 400 and "Choose a registered base model" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = researcher_client.post(
            f"/annotation/banks/{bank.pk}/generate/", {**body, "model": f"base:{base.pk}"}
        )
    assert response.status_code == 302
    generated = ResponseSet.objects.get(name="Base answers")
    assert generated.source == "model:Tiny base" and generated.training_run.base_model == base


def test_generation_api(researcher_api, policy, snapshot, django_capture_on_commit_callbacks):
    body = {"snapshot": snapshot.content_hash, "name": "API answers", "model": f"run:{policy.pk}"}
    with django_capture_on_commit_callbacks(execute=False):
        response = researcher_api.post("/api/generations/", {**body, "num_responses": 3}, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["state"] == "generating" and data["source"] == f"model:run #{policy.pk} SFT chosen"
    assert data["run"]["parents"] == [policy.pk] and data["run"]["config"]["num_responses"] == 3
    unfinished = TrainingRunFactory(method="dpo", status=Status.RUNNING)
    refused = researcher_api.post(
        "/api/generations/", {**body, "name": "x", "model": f"run:{unfinished.pk}"}, format="json"
    )
    assert refused.status_code == 400 and "has not succeeded" in refused.json()["model"][0]
    missing = researcher_api.post(
        "/api/generations/", {**body, "name": "x", "snapshot": "0" * 64}, format="json"
    )
    assert missing.status_code == 400 and "snapshot" in missing.json()
    assert not ResponseSet.objects.filter(name="x").exists()
