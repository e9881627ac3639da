"""Web-side training test fixtures: a frozen snapshot of the shared test bank, a registered model."""

import pytest

from annotation.models import Judgement, JudgePersona
from annotation.services.snapshots import snapshot_freeze, snapshot_spec_build
from tests.preference_data import stored_judge_job
from training_worker.models import BaseModel


@pytest.fixture
def snapshot(response_set, mini_criteria, researcher):
    judge_job = stored_judge_job(response_set, mini_criteria, name="j")
    persona = JudgePersona.objects.create(text="p", text_sha256="0" * 64, origin="imported", source_id="p")
    for question in response_set.bank.questions.all():
        order = list(
            response_set.responses.filter(question=question).order_by("index").values_list("pk", flat=True)
        )
        Judgement.objects.create(
            judge_job=judge_job,
            persona=persona,
            question=question,
            response_order=order,
            ok=True,
            ranks={"empathy": [1, 2, 3, 4, 5], "safety": [1, 2, 3, 4, 5]},
        )
    spec = snapshot_spec_build(response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job])
    return snapshot_freeze(name="for generation", spec=spec, created_by=researcher)[0]


@pytest.fixture
def base(tmp_path) -> BaseModel:
    directory = tmp_path / "base-policy"
    directory.mkdir()
    return BaseModel.objects.create(name="Tiny base", path=str(directory), kind=BaseModel.Kind.CAUSAL_LM)
