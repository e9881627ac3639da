"""The annotation_demo command loads the built-in demo and freezes a snapshot the ML package can train on."""

import tarfile

import pytest
from django.core.management import call_command

from annotation.models import DatasetSnapshot, Judgement, QuestionBank, RankingTask, ResponseSet
from core.roles import Role
from tests.factories import UserFactory
from training_worker.ml.snapshot import load_snapshot

pytestmark = pytest.mark.django_db


def test_demo_loads_data_and_a_trainable_snapshot_and_is_idempotent(tmp_path, capsys):
    annotator = UserFactory(username="demo-annotator", role=Role.ANNOTATOR)
    call_command("annotation_demo")
    bank = QuestionBank.objects.get(name="Demo help-seeking questions")
    assert bank.questions.count() == 20 and bank.questions.filter(split="test").count() == 4
    assert bank.response_sets.get().responses.count() == 100
    assert Judgement.objects.filter(ok=True).count() == 6 * 20
    assert (
        RankingTask.objects.filter(annotator=annotator).count() == 4
    )  # the test split, for the demo annotator
    snapshot = DatasetSnapshot.objects.get()
    with snapshot.archive.open("rb") as handle, tarfile.open(fileobj=handle, mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    loaded = load_snapshot(tmp_path)
    assert loaded.snapshot_hash == snapshot.content_hash
    assert len(loaded.criteria) == 6 and sum(loaded.objective_weights.values()) == pytest.approx(1.0)
    empathy = loaded.pairs("empathy")
    assert len(empathy) == 20
    # The synthetic personas rank the dismissive reply (response 4) last on empathy for most questions.
    assert (
        sum(
            pair.rejected.startswith(("Everyone", "Exams", "All parents", "It's been", "It's just"))
            for pair in empathy
        )
        >= 5
    )
    first = capsys.readouterr().out
    assert snapshot.content_hash in first

    call_command("annotation_demo")
    assert DatasetSnapshot.objects.count() == 1 and Judgement.objects.count() == 120
    assert "unchanged" in capsys.readouterr().out


def test_the_demo_starts_again_after_a_pipeline_generated_responses_on_its_bank(capsys):
    call_command("annotation_demo")
    bank = QuestionBank.objects.get(name="Demo help-seeking questions")
    imported = bank.response_sets.get()
    ResponseSet.objects.create(
        bank=bank, name="pipeline 1: generate.policy", origin=ResponseSet.Origin.GENERATED, source="policy"
    )
    capsys.readouterr()
    call_command("annotation_demo")
    assert "unchanged" in capsys.readouterr().out
    assert DatasetSnapshot.objects.count() == 1 and imported.responses.count() == 100
