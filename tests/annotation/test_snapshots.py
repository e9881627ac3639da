"""Dataset snapshots: the archive follows the ML contract (training_worker.ml.snapshot) and loads with
`datasets`; content hashes are stable and change with the data; exports are de-identified and audited."""

import json
import tarfile

import pyarrow.parquet as pq
import pytest
from datasets import load_from_disk

from annotation.models import DatasetSnapshot, Judgement, JudgePersona, QuestionBank
from annotation.selectors import snapshots_for_training
from annotation.services.ranking import ranking_campaign_create, ranking_task_submit
from annotation.services.snapshots import (
    SnapshotError,
    snapshot_freeze,
    snapshot_freeze_launch,
    snapshot_spec_build,
)
from core.models import AuditEvent, Job, Status
from core.services import job_run
from criteria.models import CriteriaSet
from tests.preference_data import stored_judge_job
from training_worker.ml.snapshot import load_snapshot

pytestmark = pytest.mark.django_db

ROTATIONS = [[1, 2, 3, 4, 5], [2, 1, 3, 4, 5], [1, 3, 2, 5, 4]]
WEIGHTS = {"empathy": 0.7, "safety": 0.3}


@pytest.fixture
def judge_job(response_set, mini_criteria):
    """Three personas rank every question; everyone prefers response 0 on empathy and response 4 on safety."""
    judge_job = stored_judge_job(response_set, mini_criteria, name="judges")
    for index, ranks in enumerate(ROTATIONS):
        persona = JudgePersona.objects.create(
            text=f"Secret persona text number {index}",
            text_sha256=f"{index:064d}",
            origin="imported",
            source_id=f"persona-source-{index}",
        )
        judge_job.personas.add(persona)
        for question in response_set.bank.questions.all():
            order = list(
                response_set.responses.filter(question=question)
                .order_by("index")
                .values_list("pk", flat=True)
            )
            Judgement.objects.create(
                judge_job=judge_job,
                persona=persona,
                question=question,
                response_order=order,
                ok=True,
                ranks={"empathy": ranks, "safety": ranks[::-1]},
            )
    return judge_job


def freeze(response_set, criteria_set, judge_job, researcher, **options):
    spec = snapshot_spec_build(
        response_set=response_set,
        criteria_set=criteria_set,
        judge_jobs=[judge_job],
        objective_weights=WEIGHTS,
        **options.pop("spec", {}),
    )
    return snapshot_freeze(name=options.pop("name", "snap"), spec=spec, created_by=researcher)


def unpack(snapshot, tmp_path):
    target = tmp_path / f"snapshot-{snapshot.pk}"
    with snapshot.archive.open("rb") as handle, tarfile.open(fileobj=handle, mode="r:gz") as tar:
        tar.extractall(target, filter="data")
    return target


def test_snapshot_follows_the_ml_contract_and_loads_with_datasets(
    response_set, mini_criteria, judge_job, researcher, tmp_path
):
    snapshot, created = freeze(response_set, mini_criteria, judge_job, researcher)
    assert created and snapshot.content_hash == snapshot.manifest["snapshot_hash"]
    root = unpack(snapshot, tmp_path)

    loaded = load_snapshot(root)  # the GPU worker's reader
    assert loaded.snapshot_hash == snapshot.content_hash
    assert (loaded.criteria_set_key, loaded.criteria_set_version, loaded.criteria) == (
        "mini",
        1,
        ("empathy", "safety"),
    )
    assert loaded.objective_weights == WEIGHTS
    train, test = loaded.pairs("empathy", "train"), loaded.pairs("empathy", "test")
    assert (len(train), len(test)) == (3, 1)  # 4 questions, 1 in test
    question = response_set.bank.questions.get(external_id=train[0].question_id)
    responses = list(response_set.responses.filter(question=question).order_by("index"))
    assert (train[0].prompt, train[0].chosen, train[0].rejected) == (
        question.text,
        responses[0].text,
        responses[4].text,
    )
    safety = loaded.pairs("safety", "train")[0]
    assert safety.chosen.startswith("Response 5") and safety.rejected.startswith("Response 1")

    dataset = load_from_disk(str(root / "hf" / "empathy"))
    assert set(dataset) == {"train", "test"}
    assert {"prompt", "chosen", "rejected"} <= set(dataset["train"].column_names)
    assert dataset["train"].num_rows == 3 and dataset["test"].num_rows == 1
    assert dataset["train"].features["chosen"].dtype == "string"
    assert dataset["train"][0]["n_raters"] == 3 and dataset["train"][0]["strategy"] == "best_worst"
    assert (root / "hf" / "README.md").read_text().startswith("---\npretty_name: snap")

    assert pq.read_table(root / "parquet" / "empathy" / "train.parquet").num_rows == 3
    rankings = [json.loads(line) for line in (root / "rankings.jsonl").read_text().splitlines()]
    assert len(rankings) == 12 and pq.read_table(root / "parquet" / "rankings.parquet").num_rows == 24
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["counts"]["pairs"] == {
        "empathy": {"train": 3, "test": 1},
        "safety": {"train": 3, "test": 1},
    }
    assert manifest["counts"]["rankings"] == {"persona": 12, "annotator": 0}
    assert manifest["split"] == {  # the bank was split with seed "s", one question in test
        "seed": "s",
        "test_count": 1,
        "test_fraction": None,
        "strata": None,
        "train": 3,
        "test": 1,
    }
    assert manifest["provenance"]["judge_jobs"][0]["prompt_version"] == "persona-rank-v1"
    assert manifest["code_version"]
    questions = [json.loads(line) for line in (root / "questions.jsonl").read_text().splitlines()]
    assert len(questions) == 4 and len(questions[0]["responses"]) == 5

    assert list(snapshots_for_training()) == [snapshot]
    assert AuditEvent.objects.filter(action="snapshot.freeze", object_id=str(snapshot.pk)).exists()


def test_same_data_same_hash_and_no_duplicate_changed_data_new_version(
    response_set, mini_criteria, judge_job, researcher
):
    first, created = freeze(response_set, mini_criteria, judge_job, researcher, name="first")
    again, created_again = freeze(
        response_set, mini_criteria, judge_job, researcher, name="same data, other name"
    )
    assert created and not created_again
    assert again.pk == first.pk and DatasetSnapshot.objects.count() == 1

    with pytest.raises(PermissionError):
        first.save()

    # A persona's answer changes: the data is different, so the freeze makes a new version.
    judgement = Judgement.objects.filter(judge_job=judge_job).first()
    Judgement.objects.filter(pk=judgement.pk).update(
        ranks={"empathy": [5, 4, 3, 2, 1], "safety": [1, 2, 3, 4, 5]}
    )
    second, created_second = freeze(response_set, mini_criteria, judge_job, researcher, name="second")
    assert created_second and second.content_hash != first.content_hash
    assert DatasetSnapshot.objects.count() == 2
    first.refresh_from_db()
    assert first.manifest["counts"] == DatasetSnapshot.objects.get(pk=first.pk).manifest["counts"]


def test_exports_are_de_identified_unless_free_text_is_opted_in(
    response_set, mini_criteria, judge_job, researcher, annotators, tmp_path
):
    campaign = ranking_campaign_create(
        name="humans",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators[:1],
        annotators_per_item=1,
        created_by=researcher,
    )
    for task in campaign.tasks.all():
        ranking_task_submit(
            task=task,
            annotator=annotators[0],
            rankings={"empathy": [1, 2, 3, 4, 5], "safety": [5, 4, 3, 2, 1]},
            comment="my private note about my own family",
            flagged_harmful=True,
        )
    spec = snapshot_spec_build(
        response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job], campaigns=[campaign]
    )
    private, _ = snapshot_freeze(name="private", spec=spec, created_by=researcher)
    text = "".join(
        path.read_text()
        for path in unpack(private, tmp_path).rglob("*")
        if path.suffix in {".jsonl", ".json"}
    )
    for secret in [annotators[0].username, "persona-source-0", "Secret persona text", "my private note"]:
        assert secret not in text
    assert '"rater_kind":"annotator"' in text and '"flagged_harmful":true' in text
    assert private.manifest["counts"]["flagged_harmful"] == 4

    opted = snapshot_spec_build(
        response_set=response_set,
        criteria_set=mini_criteria,
        judge_jobs=[judge_job],
        campaigns=[campaign],
        include_free_text=True,
    )
    shared, _ = snapshot_freeze(name="with text", spec=opted, created_by=researcher)
    shared_text = (unpack(shared, tmp_path) / "rankings.jsonl").read_text()
    assert "my private note" in shared_text
    assert shared.content_hash != private.content_hash
    # Pseudonyms are keyed per export configuration: the two exports cannot be joined on rater ids.
    ids = lambda path: {json.loads(line)["rater_id"] for line in path.read_text().splitlines()}  # noqa: E731
    assert not ids(tmp_path / f"snapshot-{private.pk}" / "rankings.jsonl") & ids(
        tmp_path / f"snapshot-{shared.pk}" / "rankings.jsonl"
    )


def test_freeze_as_a_background_job_and_download_is_audited(
    client, response_set, mini_criteria, judge_job, researcher, django_capture_on_commit_callbacks
):
    spec = snapshot_spec_build(response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job])
    with django_capture_on_commit_callbacks(execute=False):
        job = snapshot_freeze_launch(name="job snap", spec=spec, created_by=researcher)
    job_run(job_id=job.pk)
    job = Job.objects.get(pk=job.pk)
    assert job.status == Status.SUCCEEDED, job.error
    snapshot = DatasetSnapshot.objects.get(pk=job.result["snapshot_id"])
    assert job.result == {"snapshot_id": snapshot.pk, "content_hash": snapshot.content_hash, "created": True}
    assert (job.progress_done, job.progress_total) == (4, 4)

    client.force_login(researcher)
    response = client.get(f"/annotation/snapshots/{snapshot.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"\x1f\x8b"  # gzip
    assert AuditEvent.objects.filter(action="snapshot.download", object_id=str(snapshot.pk)).count() == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"objective_weights": {"unknown": 1.0}}, "not in the set"),
        ({"objective_weights": {"empathy": -1}}, ">= 0"),
        ({"objective_weights": {"empathy": 0, "safety": 0}}, "positive"),
        ({"pair_strategy": "random"}, "Unknown pair strategy"),
        ({"split": "validation"}, "Unknown split"),
        ({"weights_source": "survey:999"}, "not available"),
    ],
)
def test_bad_snapshot_requests_are_refused(response_set, mini_criteria, judge_job, options, message):
    with pytest.raises(SnapshotError, match=message):
        snapshot_spec_build(
            response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job], **options
        )


def test_a_snapshot_needs_a_source_of_rankings_for_every_criterion(response_set, mini_criteria, judge_job):
    with pytest.raises(SnapshotError, match="at least one judge job"):
        snapshot_spec_build(response_set=response_set, criteria_set=mini_criteria)
    therapeutic = CriteriaSet.objects.get(key="therapeutic", is_current=True)
    with pytest.raises(SnapshotError, match="did not rank"):
        snapshot_spec_build(response_set=response_set, criteria_set=therapeutic, judge_jobs=[judge_job])


def test_the_manifest_records_how_the_bank_was_split(response_set, mini_criteria, judge_job, researcher):
    """A fraction-split, stratified bank: the parameters are the import's; the counts are the snapshot's."""
    settings = {**response_set.bank.import_settings, "test_count": None, "test_fraction": 0.25}
    QuestionBank.objects.filter(pk=response_set.bank_id).update(
        import_settings={**settings, "stratify_by": ["source", "length"]}
    )
    response_set.refresh_from_db()
    snapshot, _ = freeze(response_set, mini_criteria, judge_job, researcher, spec={"split": "train"})
    assert snapshot.manifest["split"] == {
        "seed": "s",
        "test_count": None,
        "test_fraction": 0.25,
        "strata": ["source", "length"],
        "train": 3,
        "test": 0,
    }


def test_an_empty_split_still_loads_with_its_columns(
    response_set, mini_criteria, judge_job, researcher, tmp_path
):
    snapshot, _ = freeze(response_set, mini_criteria, judge_job, researcher, spec={"split": "train"})
    dataset = load_from_disk(str(unpack(snapshot, tmp_path) / "hf" / "safety"))
    assert dataset["train"].num_rows == 3 and dataset["test"].num_rows == 0
    assert dataset["test"].column_names == dataset["train"].column_names
