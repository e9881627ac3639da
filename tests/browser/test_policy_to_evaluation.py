"""A researcher goes from a succeeded MODPO run to a response set of its test-split answers and on to a
head-to-head evaluation against the SFT model, choosing every model from the picker, never typing a path.

The GPU tier is played by the test through the real worker API with a run token: it claims each run, uploads
a small artifact (an adapter, or the generated responses.jsonl) and posts success. No training happens.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from annotation.models import DatasetSnapshot, ResponseSet
from core.models import Status
from core.services import status_transition
from tests.factories import PASSWORD, TrainingRunFactory
from tests.training_worker.play_worker import jsonl, worker_finish
from training_worker.generation.services import response_set_generate
from training_worker.model_picker import model_choice_resolve
from training_worker.models import BaseModel, TrainingRun

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seeded_db")]


def succeeded_run(*, artifact: str, parents=(), **fields) -> TrainingRun:
    """A queued run the 'worker' claims, uploads `artifact` for and reports as succeeded."""
    run = TrainingRunFactory(**fields)
    run.parents.set(parents)
    status_transition(model=TrainingRun, pk=run.pk, to=Status.QUEUED)
    worker_finish(
        run,
        artifacts={artifact: f"{artifact} of {run.name}".encode()},
        metrics={"metrics": {"test/loss": 0.5}},
    )
    return TrainingRun.objects.get(pk=run.pk)


def answers(response_set: ResponseSet, model: str) -> bytes:
    """What the generator writes for the set's snapshot: one response per test question."""
    questions = response_set.bank.questions.filter(split="test").order_by("position")
    return jsonl(
        [
            {"question_id": q.external_id, "prompt": q.text, "response": f"{model}: I hear you.", "index": 0}
            for q in questions
        ]
    )


@pytest.fixture
def trained(tmp_path, researcher):
    """A frozen snapshot, a registered base model, succeeded SFT, MODPO and empathy reward-model runs, and the
    SFT model's answers (generated through the same service the pages use)."""
    call_command("annotation_demo")
    snapshot = DatasetSnapshot.objects.get()
    (tmp_path / "tiny-policy").mkdir()
    base = BaseModel.objects.create(name="Tiny base", path=str(tmp_path / "tiny-policy"))
    common = {"snapshot_hash": snapshot.content_hash, "created_by": researcher}
    sft = succeeded_run(
        artifact="adapter", method="sft", name="SFT chosen", config={"base_model": base.path}, **common
    )
    modpo = succeeded_run(
        artifact="adapter",
        parents=[sft],
        method="modpo",
        name="MODPO empathy",
        config={"criterion": "empathy", "weights": {"empathy": 0.7, "safety": 0.3}},
        **common,
    )
    reward = succeeded_run(
        artifact="model", method="reward", name="RM empathy", config={"criterion": "empathy"}, **common
    )
    sft_answers = response_set_generate(
        snapshot=snapshot,
        name="SFT answers",
        model=model_choice_resolve(f"run:{sft.pk}"),
        created_by=researcher,
        num_responses=1,
    )
    worker_finish(sft_answers.training_run, artifacts={"responses": answers(sft_answers, "SFT")})
    return {"snapshot": snapshot, "sft": sft, "modpo": modpo, "reward": reward}


def sign_in(page, live_server, researcher) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(researcher.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_from_a_modpo_run_to_an_evaluation_against_sft(page, live_server, researcher, trained):
    sft, modpo = trained["sft"], trained["modpo"]
    sign_in(page, live_server, researcher)

    # The MODPO run's page: its metrics name their split, and "Use this model" offers generation.
    page.goto(f"{live_server.url}/runs/")
    page.get_by_role("link", name="MODPO empathy").click()
    expect(page.get_by_text("test split", exact=True)).to_be_visible()  # the final metrics' caption
    page.get_by_role("link", name="Generate responses").click()

    # The picker already holds this run; nothing asks for a path.
    model = page.get_by_label("Model")
    expect(model).to_have_value(f"run:{modpo.pk}")
    expect(model.locator("option:checked")).to_contain_text("MODPO \u201cMODPO empathy\u201d \u00b7 empathy")
    page.get_by_label("Snapshot").select_option(str(trained["snapshot"].pk))
    expect(page.get_by_label("Split")).to_have_value("test")
    page.get_by_label("Response set name").fill("MODPO answers")
    page.get_by_label("Responses per question (K)").fill("1")
    page.get_by_label("Temperature (T)").fill("0.7")
    page.get_by_role("button", name="Queue generation").click()
    expect(page.get_by_role("heading", name="MODPO answers")).to_be_visible()
    expect(page.get_by_text(f"model:run #{modpo.pk} MODPO empathy")).to_be_visible()

    # The GPU worker answers the test questions and posts success: the set fills with no further click.
    generated = ResponseSet.objects.get(name="MODPO answers")
    run = generated.training_run
    assert run.config["policy"] == "input:policy/adapter" and list(run.parents.all()) == [modpo]
    assert (run.config["split"], run.config["num_responses"], run.config["temperature"]) == ("test", 1, 0.7)
    worker_finish(run, artifacts={"responses": answers(generated, "MODPO")})
    page.reload()
    n_test = generated.bank.questions.filter(split="test").count()
    expect(page.get_by_text(f"{n_test} responses stored, 0 rejected.")).to_be_visible()

    # A head-to-head evaluation of the two policies, judged by the empathy reward model.
    page.goto(f"{live_server.url}/evaluations/new/")
    page.get_by_label("Name").first.fill("MODPO vs SFT")
    page.get_by_label("Criteria set").select_option("therapeutic_eval")
    page.get_by_label("Response sets").select_option(
        [str(generated.pk), str(ResponseSet.objects.get(name="SFT answers").pk)]
    )
    page.get_by_label("Labels").fill("MODPO\nSFT")  # in the order of the sets' names
    page.get_by_label("Reward models").check()
    page.get_by_label("Reward runs").select_option(str(trained["reward"].pk))
    page.get_by_label("Launch now").uncheck()
    page.get_by_role("button", name="Create").click()

    # The evaluation names both policy runs behind its entrants.
    expect(page.get_by_role("heading", name="MODPO vs SFT")).to_be_visible()
    setup = page.get_by_role("region", name="Set-up")
    expect(setup.get_by_role("link", name=f"#{modpo.pk} MODPO empathy")).to_be_visible()
    expect(setup.get_by_role("link", name=f"#{sft.pk} SFT chosen")).to_be_visible()
    provenance = page.get_by_role("region", name="Provenance")
    expect(provenance).to_contain_text(f"MODPO: policy run #{modpo.pk} MODPO empathy (modpo)")
    expect(provenance).to_contain_text(f"SFT: policy run #{sft.pk} SFT chosen (sft)")
