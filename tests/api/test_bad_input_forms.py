"""JSON and numbers typed into research forms: what the database cannot store is a field error."""

import pytest

from annotation.forms import SnapshotForm
from training_worker.forms import RunLaunchForm

pytestmark = pytest.mark.django_db

UNSTORABLE = ['{"empathy": NaN}', '{"empathy": 1e400}', '{"\\ud800": 1}', "[" * 100 + "]" * 100]


@pytest.mark.parametrize("text", UNSTORABLE)
def test_launch_form_refuses_unstorable_weights(text):
    form = RunLaunchForm(data={"weights": text})
    assert not form.is_valid() and "weights" in form.errors


@pytest.mark.parametrize("text", ["nan, 1", "0.5, inf"])
def test_launch_form_refuses_non_finite_merge_weights(text):
    form = RunLaunchForm(data={"merge_weights": text})
    assert not form.is_valid() and "merge_weights" in form.errors


@pytest.mark.parametrize("text", UNSTORABLE)
def test_snapshot_form_refuses_unstorable_objective_weights(text):
    form = SnapshotForm(data={"objective_weights": text})
    assert not form.is_valid() and "objective_weights" in form.errors
