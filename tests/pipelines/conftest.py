"""Pipeline fixtures: the frozen snapshot and registered models of the training tests, and a small plan."""

import pytest

from tests.training_worker.conftest import base, snapshot  # noqa: F401 (fixtures used by these tests)
from training_worker.models import BaseModel


@pytest.fixture
def backbone(tmp_path) -> BaseModel:
    directory = tmp_path / "tiny-bert"
    directory.mkdir()
    return BaseModel.objects.create(
        name="Tiny BERT", path=str(directory), kind=BaseModel.Kind.REWARD_BACKBONE
    )
