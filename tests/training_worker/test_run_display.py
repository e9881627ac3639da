"""Run pages people read: metrics and configuration as formatted key/value tables (never a Python repr), a
chart for every logged metric grouped by split (and one line per run when compared), artifacts downloaded
under names with their real extension, and a tar artifact's files listed without extracting it."""

import io
import json
import random
import re
import struct
import tarfile

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from core.models import Status
from tests.factories import TrainingRunFactory
from training_worker.artifact_files import LISTING_MAX_MEMBERS
from training_worker.display import format_number
from training_worker.models import RunArtifact, RunEvent, TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher_client(researcher) -> Client:
    client = Client()
    client.force_login(researcher)
    return client


def logged(run: TrainingRun, steps: dict[int, dict[str, float]]) -> None:
    for step, metrics in steps.items():
        RunEvent.objects.create(run=run, event_id=f"step-{step}", step=step, metrics=metrics)


@pytest.fixture
def dpo_run() -> TrainingRun:
    run = TrainingRunFactory(
        method="dpo",
        name="DPO empathy",
        status=Status.SUCCEEDED,
        step=20,
        total_steps=20,
        config={"criterion": "empathy", "beta": 0.1, "lora": {"r": 16, "alpha": 32}, "seeds": [1, 2]},
        last_metrics={"loss": 0.6931471, "learning_rate": 5e-05, "rewards/margins": 0.1234567},
        result={
            "metrics": {
                "train_loss": 0.61234,
                "test/loss": 0.58,
                "per_criterion": {"empathy": {"pairs": 1200, "reward_accuracy": 0.66667}},
            },
            "hardware": {"device": "cuda", "bf16": True},
        },
    )
    logged(
        run,
        {
            10: {"loss": 0.69, "learning_rate": 5e-05, "rewards/accuracies": 0.5, "rewards/margins": 0.01},
            20: {
                "loss": 0.61,
                "learning_rate": 2.5e-05,
                "rewards/accuracies": 0.75,
                "rewards/margins": 0.2,
                "eval_loss": 0.64,
                "eta_seconds": 0.0,
            },
        },
    )
    return run


def store(run: TrainingRun, name: str, data: bytes) -> RunArtifact:
    artifact = RunArtifact(run=run, name=name, sha256=f"{name:0<64}"[:64], size=len(data))
    artifact.file.save(f"run-{run.pk}-{name}", ContentFile(data), save=False)
    artifact.save()
    return artifact


def tar_gz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\0\0\0\0"


def test_metrics_and_configuration_are_formatted_tables_without_python_reprs(researcher_client, dpo_run):
    page = researcher_client.get(f"/runs/{dpo_run.pk}/").content.decode()
    assert "{'" not in page and "{&#x27;" not in page and "[1, 2]" not in page
    assert ">0.6931<" in page and ">5.000e-05<" in page and ">0.1235<" in page  # latest metrics
    assert ">0.6123<" in page and ">1,200<" in page and ">0.6667<" in page  # final, nested per criterion
    assert re.search(r'<th scope="row">per_criterion</th><td>\s*<table class="key-values">', page)
    assert re.search(r'<th scope="row">lora</th><td>\s*<table class="key-values">', page)  # configuration
    assert ">1, 2<" in page and ">yes<" in page  # a list of numbers, a flag in the result details


def test_every_logged_metric_has_a_chart_grouped_by_split(researcher_client, dpo_run):
    page = researcher_client.get(f"/runs/{dpo_run.pk}/").content.decode()
    train, _, test = page.partition("Logged metrics: test split")
    for key in ("loss", "learning_rate", "rewards/accuracies", "rewards/margins"):
        assert f'aria-label="{key}"' in train
    assert 'aria-label="eval_loss"' in test and 'aria-label="eta_seconds"' not in page
    assert "Loss: train split vs test split" in page
    fragment = researcher_client.get(f"/runs/{dpo_run.pk}/charts/").content.decode()
    assert fragment.count("<svg") == page.count("<svg") == 6 and "<html" not in fragment


def test_compare_draws_one_chart_per_metric_with_one_line_per_run(researcher_client, dpo_run):
    other = TrainingRunFactory(name="DPO safety", config={"criterion": "safety", "lora": {"r": 8}})
    logged(other, {5: {"loss": 0.7, "grad_norm": 1.5}, 15: {"loss": 0.5, "grad_norm": 1.2}})
    page = researcher_client.get(f"/runs/compare/?ids={dpo_run.pk}&ids={other.pk}").content.decode()
    charts = dict(re.findall(r'<svg class="chart"[^>]*aria-label="([^"]+)">(.*?)</svg>', page, flags=re.S))
    assert set(charts) == {
        "loss",
        "learning_rate",
        "rewards/accuracies",
        "rewards/margins",
        "eval_loss",
        "grad_norm",
    }
    assert charts["loss"].count("<polyline") == 2
    assert f"#{dpo_run.pk} DPO empathy" in charts["loss"] and f"#{other.pk} DPO safety" in charts["loss"]
    assert charts["grad_norm"].count("<polyline") == 1
    assert "{'" not in page and "{&#x27;" not in page and ">16<" in page and ">8<" in page


@pytest.mark.parametrize(
    ("name", "data", "filename"),
    [
        ("adapter", tar_gz({"adapter/adapter_config.json": b"{}"}), "adapter.tar.gz"),
        ("model", safetensors(), "model.safetensors"),
        ("responses", b'{"question_id": "q1", "response": "hi"}\n{"question_id": "q2"}\n', "responses.jsonl"),
        ("result", b'{\n  "status": "completed"\n}\n', "result.json"),
        ("scores.csv", b"a,b\n1,2\n", "scores.csv"),
        ("weights", bytes(range(256)), "weights.bin"),
    ],
)
def test_downloads_carry_the_real_extension(researcher_client, dpo_run, name, data, filename):
    artifact = store(dpo_run, name, data)
    response = researcher_client.get(f"/runs/{dpo_run.pk}/artifacts/{artifact.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert response["Content-Disposition"] == f'attachment; filename="run-{dpo_run.pk}-{filename}"'
    page = researcher_client.get(f"/runs/{dpo_run.pk}/").content.decode()
    assert f'download="run-{dpo_run.pk}-{filename}"' in page


def test_a_tar_artifact_lists_its_files_with_human_sizes(researcher_client, dpo_run):
    store(
        dpo_run,
        "adapter",
        tar_gz({"adapter/adapter_model.safetensors": b"x" * 2048, "adapter/adapter_config.json": b"{}"}),
    )
    page = researcher_client.get(f"/runs/{dpo_run.pk}/").content.decode()
    assert "2 entries in the archive" in page
    assert "<code>adapter/adapter_model.safetensors</code></td><td>2.0\xa0KB" in page
    assert "<code>adapter/adapter_config.json</code></td><td>2\xa0bytes" in page


def test_a_large_archive_lists_only_its_first_members(researcher_client, dpo_run):
    store(dpo_run, "checkpoints", tar_gz({f"f{i:04}": b"" for i in range(LISTING_MAX_MEMBERS + 5)}))
    page = researcher_client.get(f"/runs/{dpo_run.pk}/").content.decode()
    assert f"{LISTING_MAX_MEMBERS}+ entries in the archive" in page and "Only the first entries" in page
    assert "f0000" in page and f"f{LISTING_MAX_MEMBERS:04}" not in page


def test_a_corrupt_archive_is_listed_as_far_as_it_reads(researcher_client, dpo_run):
    data = tar_gz({"a.txt": random.Random(0).randbytes(20_000)})  # incompressible: half cuts its data
    store(dpo_run, "broken", data[: len(data) // 2])
    page = researcher_client.get(f"/runs/{dpo_run.pk}/").content.decode()
    assert "1+ entries in the archive" in page and "<code>a.txt</code>" in page


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"),
        (1_234_567, "1,234,567"),
        (2.0, "2"),
        (0.1234567, "0.1235"),
        (5e-05, "5.000e-05"),
        (1234.5678, "1,234.6"),
        (3.2e7, "32,000,000"),
        (3.25e7 + 0.5, "3.250e+07"),
        (float("nan"), "nan"),
    ],
)
def test_numbers_are_formatted_for_reading(value, text):
    assert format_number(value) == text
