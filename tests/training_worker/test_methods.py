"""The stored training methods are the registry's, with the values and labels the database already holds."""

import pytest

from training_worker.forms import RunLaunchForm
from training_worker.launch import METHOD_FIELDS
from training_worker.ml.registry import METHODS
from training_worker.models import TrainingMethod


def test_the_registry_covers_every_stored_method_with_unchanged_values_and_labels() -> None:
    assert set(TrainingMethod.values) == set(METHODS)
    assert TrainingMethod.choices == [
        ("reward", "Reward model"),
        ("sft", "SFT"),
        ("dpo", "DPO"),
        ("modpo", "MODPO"),
        ("joint", "Joint-loss DPO"),
        ("merge", "Merge (DPO soup)"),
        ("generate", "Generation"),
        ("score", "Reward-model scoring"),
    ]
    assert TrainingMethod.MODPO == "modpo"


@pytest.mark.django_db
def test_the_run_form_launches_every_training_method() -> None:
    """Scoring is internal to evaluations; generation fills a response set, so it starts from a bank or a
    policy's page."""
    assert set(METHOD_FIELDS) == set(TrainingMethod.values) - {"score", "generate"}
    assert set(dict(RunLaunchForm().fields["method"].choices)) == set(METHOD_FIELDS)
