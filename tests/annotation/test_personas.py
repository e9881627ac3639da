"""Judge personas: import from plain text, CSV or JSONL (all or nothing, idempotent), and copies of the
survey's personas through survey_app.selectors when that app provides them."""

import sys
import types
from dataclasses import dataclass

import pytest

from annotation.models import JudgePersona
from annotation.services.personas import (
    PersonaImportError,
    SurveyPersonasUnavailable,
    judge_personas_from_survey,
    judge_personas_import,
)

pytestmark = pytest.mark.django_db


def test_plain_text_csv_and_jsonl(researcher):
    report = judge_personas_import(
        data=b"I am 34 and anxious.\n\nI like directness.\n---\nI am 61 and grieving.\n",
        created_by=researcher,
    )
    assert (report["created"], report["rows_accepted"]) == (2, 2)
    assert JudgePersona.objects.filter(text="I am 34 and anxious.\n\nI like directness.").exists()

    csv_report = judge_personas_import(
        data=b"source_id,text,split\np1,A test persona,test\np2,Another persona,\np3,Bad split,validation\n",
        file_format="csv",
        created_by=researcher,
    )
    assert csv_report["created"] == 2 and csv_report["rows_rejected"] == 1
    assert "validation" in csv_report["rejected"][0]["reason"]
    assert dict(
        JudgePersona.objects.filter(source_id__in=["p1", "p2"]).values_list("source_id", "split")
    ) == {
        "p1": "test",
        "p2": "train",
    }
    jsonl = judge_personas_import(
        data=b'{"text": "JSON persona", "source_id": "j1"}\n', created_by=researcher
    )
    assert jsonl["format"] == "jsonl" and jsonl["created"] == 1


def test_reimport_is_a_no_op_and_a_changed_text_under_an_old_id_is_refused(researcher):
    data = b"source_id,text\np1,Original text\n"
    judge_personas_import(data=data, file_format="csv", created_by=researcher)
    again = judge_personas_import(data=data, file_format="csv", created_by=researcher)
    assert (again["created"], again["unchanged"]) == (0, 1)
    changed = judge_personas_import(
        data=b"source_id,text\np1,Edited text\n", file_format="csv", created_by=researcher
    )
    assert changed["created"] == 0 and "different text" in changed["rejected"][0]["reason"]
    assert JudgePersona.objects.get(source_id="p1").text == "Original text"


@pytest.mark.parametrize(
    ("data", "file_format", "message"),
    [
        (b"name\nx\n", "csv", "missing required column"),
        (b"source_id,text\np1,a\np1,b\n", "csv", "duplicate source_id"),
        ("caf\u00e9".encode("latin-1"), "text", "not valid UTF-8"),
        (b"\n---\n\n", "text", "no usable persona"),
    ],
)
def test_unusable_files_change_nothing(researcher, data, file_format, message):
    with pytest.raises(PersonaImportError, match=message):
        judge_personas_import(data=data, file_format=file_format, created_by=researcher)
    assert not JudgePersona.objects.exists()


@dataclass
class SurveyPersona:
    pk: int
    text: str
    split: str


def test_survey_personas_are_copied_and_a_new_text_is_a_new_persona(monkeypatch, researcher):
    survey = [
        SurveyPersona(1, "Persona one from the survey", "train"),
        SurveyPersona(2, "Persona two", "test"),
    ]
    calls = []

    def personas_for_judging(*, study=None, split=None):
        calls.append((study, split))
        return list(survey)

    monkeypatch.setitem(
        sys.modules, "survey_app.selectors", types.SimpleNamespace(personas_for_judging=personas_for_judging)
    )
    assert judge_personas_from_survey(study_id=7, actor=researcher)["created"] == 2
    assert calls == [(7, None)]
    assert judge_personas_from_survey(study_id=7, actor=researcher) == {
        "created": 0,
        "unchanged": 2,
        "rejected": [],
        "skipped": [],
    }
    survey[0] = SurveyPersona(1, "Persona one, rewritten", "train")
    assert judge_personas_from_survey(study_id=7, actor=researcher)["created"] == 1
    copies = JudgePersona.objects.filter(origin="survey", source_id__startswith="1:")
    assert sorted(copies.values_list("text", flat=True)) == [
        "Persona one from the survey",
        "Persona one, rewritten",
    ]
    assert JudgePersona.objects.get(origin="survey", source_id__startswith="2:").split == "test"


def test_a_clear_error_while_the_survey_app_cannot_provide_personas(monkeypatch):
    monkeypatch.setitem(sys.modules, "survey_app.selectors", types.SimpleNamespace())
    with pytest.raises(SurveyPersonasUnavailable, match="personas_for_judging"):
        judge_personas_from_survey()
