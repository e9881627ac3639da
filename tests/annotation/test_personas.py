"""Judge personas: import from plain text, CSV or JSONL (all or nothing, idempotent), and copies of the
survey's selected personas."""

import pytest

from annotation.models import JudgePersona
from annotation.services.personas import (
    PersonaImportError,
    judge_personas_from_survey,
    judge_personas_import,
)
from survey_app.models import Persona
from tests.survey_app.factories import StudyFactory, completes

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


def _survey_persona(study, participant, text: str, split: str, *, selected: bool = True) -> Persona:
    return Persona.objects.create(
        study=study,
        participant=participant,
        text=text,
        features={},
        quality_score=0.9,
        completeness=1.0,
        consistency=0.8,
        selected=selected,
        split=split,
    )


def test_survey_personas_are_copied_and_a_new_text_is_a_new_persona(researcher):
    study, other_study = StudyFactory(), StudyFactory()
    first, second, unselected = completes(study, 3)
    one = _survey_persona(study, first, "Persona one from the survey", "train")
    two = _survey_persona(study, second, "Persona two", "test")
    _survey_persona(study, unselected, "Not selected", "train", selected=False)
    _survey_persona(other_study, completes(other_study, 1)[0], "Another study's persona", "train")

    assert judge_personas_from_survey(study_id=study.pk, actor=researcher)["created"] == 2
    assert judge_personas_from_survey(study_id=study.pk, actor=researcher) == {
        "created": 0,
        "unchanged": 2,
        "rejected": [],
        "skipped": [],
    }
    one.text = "Persona one, rewritten"
    one.save(update_fields=["text"])
    assert judge_personas_from_survey(study_id=study.pk, actor=researcher)["created"] == 1
    copies = JudgePersona.objects.filter(origin="survey", source_id__startswith=f"{one.pk}:")
    assert sorted(copies.values_list("text", flat=True)) == [
        "Persona one from the survey",
        "Persona one, rewritten",
    ]
    assert JudgePersona.objects.get(origin="survey", source_id__startswith=f"{two.pk}:").split == "test"
    assert not JudgePersona.objects.filter(text__in=["Not selected", "Another study's persona"]).exists()
