"""Researcher pages, figures (PNG and SVG) and tables (CSV and JSON): every figure names the evaluation,
its models, runs and snapshots; downloads are audit-logged; create forms and APIs validate their input."""

import csv
import io
import json

import pytest
from django.urls import reverse
from PIL import Image

from core.models import AuditEvent
from criteria.models import CriteriaSet
from evaluation.models import Evaluation
from evaluation.services.evaluations import (
    comparison_record,
    evaluation_create,
    evaluation_results_compute,
)
from evaluation.services.studies import clinician_study_close, clinician_study_unblind
from judges.endpoint import JudgeEndpoint
from tests.evaluation.helpers import make_bank, make_clinicians, make_personas, make_study
from tests.factories import TrainingRunFactory
from training_worker.models import RunArtifact, RunInput

pytestmark = pytest.mark.django_db

SNAPSHOT = "abcdef0123456789" * 4
POLICY_SNAPSHOT = "9876543210fedcba" * 4


@pytest.fixture
def evaluation(researcher) -> Evaluation:
    _, questions, sets = make_bank(models=["base", "sft", "modpo"], n_questions=3)
    policy = TrainingRunFactory(method="modpo", name="MODPO empathy", snapshot_hash=POLICY_SNAPSHOT)
    artifact = RunArtifact.objects.create(
        run=policy, name="adapter", file="run-artifacts/policy-7", sha256="1" * 64, size=1
    )
    generation = TrainingRunFactory(method="generate", name="generate: modpo", snapshot_hash=SNAPSHOT)
    RunInput.objects.create(run=generation, name="policy", file=artifact.file.name, sha256=artifact.sha256)
    sets[2].training_run = generation
    sets[2].save()
    personas = make_personas(2)
    evaluation = evaluation_create(
        name="Figure 2 reproduction",
        criteria_set=CriteriaSet.objects.get(key="therapeutic_eval"),
        response_sets=sets,
        labels=["Base", "SFT", "MODPO"],
        judge_kind="persona",
        personas=personas,
        created_by=researcher,
        endpoint=JudgeEndpoint(base_url="http://127.0.0.1:9/v1", model="judge-x"),
        launch=False,
    )
    entrants = list(evaluation.entrants.order_by("position"))
    strength = {"Base": 0, "SFT": 1, "MODPO": 2}
    for a_index, a in enumerate(entrants):
        for b in entrants[a_index + 1 :]:
            winner = "first" if strength[a.label] > strength[b.label] else "second"
            for question in questions:
                for persona in personas:
                    comparison_record(
                        evaluation=evaluation,
                        question_id=question.pk,
                        model_a_id=a.pk,
                        model_b_id=b.pk,
                        judge_key=f"persona:{persona.pk}",
                        persona_id=persona.pk,
                        first_model="A",
                        response_first_id=a.response_set.responses.get(question=question).pk,
                        response_second_id=b.response_set.responses.get(question=question).pk,
                        verdicts={"empathy": winner, "safety": "second" if winner == "first" else "first"},
                    )
    evaluation_results_compute(evaluation=evaluation)
    evaluation.refresh_from_db()
    evaluation.policy_run, evaluation.generation_run = policy, generation
    return evaluation


def _provenance_strings(evaluation) -> list[str]:
    return [
        f"Evaluation #{evaluation.pk}",
        "Figure 2 reproduction",
        "MODPO",
        "SFT",
        f"response set #{evaluation.entrants.get(label='MODPO').response_set_id}",
        f"generation run #{evaluation.generation_run.pk}",
        f"policy run #{evaluation.policy_run.pk} \u201cMODPO empathy\u201d (modpo)",
        SNAPSHOT[:12],
        POLICY_SNAPSHOT[:12],
    ]


def test_figures_name_their_sources_in_svg_text_and_png_metadata(client, researcher, evaluation):
    client.force_login(researcher)
    svg = client.get(reverse("evaluation-figure", args=[evaluation.pk, "pareto", "svg"]))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    text = svg.content.decode()
    for expected in _provenance_strings(evaluation):
        assert expected in text, expected
    png = client.get(reverse("evaluation-figure", args=[evaluation.pk, "bars", "png"]) + "?pair=2&download=1")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png["Content-Disposition"] == f'attachment; filename="evaluation-{evaluation.pk}-bars-pair2.png"'
    image = Image.open(io.BytesIO(png.content))
    assert image.size[0] > 500
    for expected in _provenance_strings(evaluation):
        assert expected in image.info["Description"], expected
    assert AuditEvent.objects.filter(action="evaluation.export").count() == 1  # inline views are not exports
    for pair in ("9", "\u00b2"):  # out of range; a digit int() cannot read
        bars = reverse("evaluation-figure", args=[evaluation.pk, "bars", "png"])
        assert client.get(bars, {"pair": pair}).status_code == 404
    assert client.get(reverse("evaluation-figure", args=[evaluation.pk, "pareto", "gif"])).status_code == 404


def test_tables_and_json_carry_the_numbers_and_provenance(client, researcher, evaluation):
    client.force_login(researcher)
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(reverse("evaluation-table", args=[evaluation.pk, "winrates"])).content.decode()
            )
        )
    )
    assert len(rows) == 3 * 2  # pairs x judged criteria
    base_vs_modpo = next(
        r for r in rows if (r["model_a"], r["model_b"], r["criterion"]) == ("Base", "MODPO", "empathy")
    )
    assert (base_vs_modpo["wins"], base_vs_modpo["losses"], base_vs_modpo["win_rate"]) == ("0", "3", "0.0")
    averages = list(
        csv.DictReader(
            io.StringIO(
                client.get(reverse("evaluation-table", args=[evaluation.pk, "averages"])).content.decode()
            )
        )
    )
    modpo = next(r for r in averages if r["model"] == "MODPO" and r["criterion"] == "empathy")
    assert modpo["average_win_rate"] == "1.0" and modpo["on_pareto_front"] == "True"
    assert modpo["policy_runs"] == f"#{evaluation.policy_run.pk} MODPO empathy (modpo)"
    assert {r["policy_runs"] for r in averages if r["model"] != "MODPO"} == {""}  # imported sets have none
    assert (
        base_vs_modpo["model_b_policy_runs"] == modpo["policy_runs"]
        and base_vs_modpo["model_a_policy_runs"] == ""
    )
    document = json.loads(client.get(reverse("evaluation-results-json", args=[evaluation.pk])).content)
    assert document["provenance"]["evaluation"]["id"] == evaluation.pk
    modpo_model = next(m for m in document["provenance"]["models"] if m["label"] == "MODPO")
    assert modpo_model["policy_runs"] == [
        {"id": evaluation.policy_run.pk, "name": "MODPO empathy", "method": "modpo"}
    ]
    assert {m["label"] for m in document["provenance"]["models"]} == {"Base", "SFT", "MODPO"}
    assert (
        SNAPSHOT in document["provenance"]["snapshots"]
        and POLICY_SNAPSHOT in document["provenance"]["snapshots"]
    )
    # Empathy and safety trade off exactly (Base 0/1, SFT 0.5/0.5, MODPO 1/0): nobody is dominated.
    assert document["results"]["pareto"]["front"] == ["Base", "SFT", "MODPO"]
    assert AuditEvent.objects.filter(action="evaluation.export").count() == 3


def test_detail_and_list_pages_show_results(client, researcher, evaluation):
    client.force_login(researcher)
    page = client.get(reverse("evaluation-detail", args=[evaluation.pk]) + "?pair=1").content.decode()
    assert "Safety vs empathy" in page and "Base vs MODPO" in page and "Win-rate matrices" in page
    policy, generation = evaluation.policy_run, evaluation.generation_run
    assert (
        f'generated by run <a href="/runs/{generation.pk}/">#{generation.pk}</a> from policy '
        f'<a href="/runs/{policy.pk}/">#{policy.pk} MODPO empathy</a> (modpo)'
    ) in page
    listing = client.get(reverse("evaluation-list")).content.decode()
    assert "Figure 2 reproduction" in listing


def test_create_form_and_api_validate_and_create(client, researcher):
    _, _, sets = make_bank(models=["m1", "m2"], n_questions=2)
    personas = make_personas(2)
    client.force_login(researcher)
    form = client.post(
        reverse("evaluation-new"),
        {
            "name": "x",
            "criteria_set": "therapeutic_eval",
            "response_sets": [sets[0].pk],
            "judge_kind": "persona",
            "temperature": 0,
            "tie_margin": 0,
            "split": "test",
            "response_index": 0,
            "vote_rule": "plurality",
            "seed": 0,
        },
    )
    assert form.status_code == 400 and "at least two response sets" in form.content.decode()
    train_persona = make_personas(1, split="train", prefix="train")[0]
    body = {
        "name": "api",
        "criteria_set": "therapeutic_eval",
        "response_sets": [s.pk for s in sets],
        "judge_kind": "persona",
        "personas": [train_persona.pk],
        "launch": False,
    }
    refused = client.post(reverse("api-evaluations"), body, content_type="application/json")
    assert refused.status_code == 400 and "personas" in refused.json()
    body["personas"] = [p.pk for p in personas]
    assert (
        client.post(
            reverse("api-evaluations"), {**body, "surprise": 1}, content_type="application/json"
        ).status_code
        == 400
    )
    created = client.post(reverse("api-evaluations"), body, content_type="application/json")
    assert created.status_code == 201
    data = created.json()
    assert [m["label"] for m in data["models"]] == ["m1 responses", "m2 responses"] and data["total"] == 2 * 2
    assert data["prompt_version"] == "persona-pairwise-v1" and data["status"] == "created"


def test_study_figure_and_tables_after_unblinding(client, researcher):
    study, _ = make_study(researcher=researcher, n_scenarios=4, n_questions=4)
    client.force_login(researcher)
    clinician_study_close(study=study, actor=researcher)
    clinician_study_unblind(study=study, actor=researcher)
    svg = client.get(reverse("study-figure", args=[study.pk, "svg"])).content.decode()
    for expected in (
        f"Clinician study #{study.pk}",
        "TrainedLabel",
        "BaseLabel",
        f"response set #{study.response_set_a_id}",
    ):
        assert expected in svg
    for name in ("agreement", "cohen", "winrates", "position"):
        response = client.get(reverse("study-table", args=[study.pk, name]))
        assert response.status_code == 200 and response.content.decode().splitlines()[0]
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "Agreement between clinicians" in page and "Position balance" in page


def test_html_forms_create_an_evaluation_and_a_study(client, researcher, django_capture_on_commit_callbacks):
    _, _, sets = make_bank(models=["m1", "m2"], n_questions=4)
    personas = make_personas(2)
    clinicians = make_clinicians(2)
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=False):
        created = client.post(
            reverse("evaluation-new"),
            {
                "name": "From the form",
                "criteria_set": "therapeutic_eval",
                "response_sets": [s.pk for s in sets],
                "labels": "Base\nTrained",
                "judge_kind": "persona",
                "personas": [p.pk for p in personas],
                "temperature": 0,
                "tie_margin": 0,
                "split": "test",
                "response_index": 0,
                "vote_rule": "plurality",
                "seed": 0,
                "launch": "on",
            },
        )
    evaluation = Evaluation.objects.get(name="From the form")
    assert created.status_code == 302 and created["Location"] == reverse(
        "evaluation-detail", args=[evaluation.pk]
    )
    assert list(evaluation.entrants.values_list("label", flat=True)) == ["Base", "Trained"]
    assert evaluation.job is not None and evaluation.job.status == "queued"
    study = client.post(
        reverse("study-new"),
        {
            "name": "Form study",
            "clinician_title": "Comparing responses",
            "criteria_set": "therapeutic_eval",
            "response_set_a": sets[1].pk,
            "label_a": "Trained",
            "response_set_b": sets[0].pk,
            "label_b": "Base",
            "clinicians": [c.pk for c in clinicians],
            "n_scenarios": 3,
            "raters_per_item": 2,
            "calibration_items": 1,
            "split": "test",
            "response_index": 0,
            "trained_model": "A",
            "seed": 0,
        },
    )
    assert study.status_code == 302
    page = client.get(study["Location"]).content.decode()
    assert "Form study" in page and "Close the study" in page
