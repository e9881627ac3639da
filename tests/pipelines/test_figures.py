"""The paper's figures from a pipeline: written as PNG and SVG when its evaluation finishes, each naming its
evaluation, entrants' runs, snapshot, plan and code version, served on the pipeline page."""

import hashlib

import pytest
from django.test import Client
from statsmodels.stats.proportion import proportion_confint

from annotation.exports.manifest import code_version
from pipelines.figures import sweep_pareto, tradeoff_points
from pipelines.models import PipelineFigure, PipelineState
from tests.pipelines.chain import run_chain, run_of, start, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(snapshot, researcher, base, backbone, django_capture_on_commit_callbacks):
    pipeline = start(snapshot, researcher, django_capture_on_commit_callbacks)
    run_chain(pipeline, django_capture_on_commit_callbacks)
    assert pipeline.state == PipelineState.SUCCEEDED
    return pipeline


def test_the_figures_step_writes_the_tradeoff_and_the_sweeps_pareto_front_as_png_and_svg(finished):
    figures = {f.filename: f for f in PipelineFigure.objects.filter(step__pipeline=finished)}
    assert set(figures) == {"tradeoff.png", "tradeoff.svg", "modpo-pareto.png", "modpo-pareto.svg"}
    for figure in figures.values():
        content = bytes(figure.content)
        assert figure.sha256 == hashlib.sha256(content).hexdigest()
        assert content.startswith(b"\x89PNG") if figure.fmt == "png" else b"<svg" in content[:2000]
    output = step(finished, "figures").output["figures"]
    assert output["tradeoff.svg"] == f"/pipelines/{finished.pk}/figures/tradeoff.svg"


def test_each_figure_names_its_evaluation_entrants_snapshot_plan_and_code_version(finished):
    evaluation = step(finished, "h2h").evaluation
    modpo, generation = run_of(finished, "modpo.w1"), run_of(finished, "generate.modpo.w1")
    for figure in PipelineFigure.objects.filter(step__pipeline=finished):
        lineage = figure.lineage
        assert lineage["evaluation"]["id"] == evaluation.pk
        assert lineage["entrants"]["modpo.w1"]["runs"] == [generation.pk, modpo.pk]
        assert lineage["snapshot"] == finished.snapshot.content_hash
        assert lineage["plan"]["sha256"] == finished.plan.sha256
        assert lineage["code_version"] == code_version()
        for needle in (finished.plan.sha256, finished.snapshot.content_hash, f"Evaluation #{evaluation.pk}"):
            assert needle in figure.caption
        text = bytes(figure.content).decode("latin-1")
        assert finished.plan.sha256 in text  # SVG text and description, PNG Description chunk


def test_the_tradeoff_plots_win_rates_over_the_base_with_wilson_intervals(finished):
    results = step(finished, "h2h").evaluation.results
    (point,) = tradeoff_points(results=results, base="policy")
    (pair,) = results["pairs"]
    flipped = pair["model_a"] == "policy"
    for axis, criterion in (("x", "empathy"), ("y", "safety")):
        counts = pair["criteria"][criterion]
        wins, losses = (counts["losses"], counts["wins"]) if flipped else (counts["wins"], counts["losses"])
        assert point[axis] == pytest.approx(wins / (wins + losses))
        assert point[f"{axis}_ci"] == pytest.approx(
            list(proportion_confint(wins, wins + losses, method="wilson"))
        )
    assert (point["model"], point["x"], point["y"]) == ("modpo.w1", 1.0, 0.0)  # more empathetic, less safe
    assert point["x_ci"][0] < 0.5 < point["x_ci"][1] == 1.0  # one question: a wide interval


def test_the_sweeps_pareto_front_joins_its_non_dominated_policies():
    results = {
        "pareto": {
            "points": [
                {"model": "modpo.w1", "x": 0.8, "y": 0.3},
                {"model": "modpo.w2", "x": 0.5, "y": 0.6},
                {"model": "modpo.w3", "x": 0.4, "y": 0.5},
                {"model": "dpo.empathy", "x": 0.9, "y": 0.9},
            ]
        }
    }
    pareto = sweep_pareto(results=results, sweep=["modpo.w1", "modpo.w2", "modpo.w3"])
    assert pareto["front"] == ["modpo.w2", "modpo.w1"]
    assert {p["model"]: p["dominated_by"] for p in pareto["points"]}["modpo.w3"] == ["modpo.w2"]


def test_the_pipeline_page_links_each_figure_with_its_lineage(finished, researcher, clinician):
    client = Client()
    client.force_login(researcher)
    page = client.get(f"/pipelines/{finished.pk}/").content.decode()
    assert f'href="/pipelines/{finished.pk}/figures/tradeoff.png"' in page
    assert finished.snapshot.content_hash in page and code_version() in page
    response = client.get(f"/pipelines/{finished.pk}/figures/modpo-pareto.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert client.get(f"/pipelines/{finished.pk}/figures/nothing.svg").status_code == 404
    client.force_login(clinician)
    assert client.get(f"/pipelines/{finished.pk}/figures/tradeoff.png").status_code == 403
