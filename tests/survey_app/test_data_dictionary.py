"""docs/data-dictionary.md is generated from the questionnaire and the de-identification policy, and the
export's data_dictionary.csv comes from the same source: neither can drift from what an export holds."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from core.models import Job
from core.services import job_run
from survey_app.management.commands.data_dictionary import DEFAULT_PATH, data_dictionary_document
from tests.survey_app.factories import StudyFactory, completes

pytestmark = pytest.mark.django_db


def documented() -> dict[str, str]:
    """Variable -> disclosure class, from the committed document's responses.csv table."""
    section = DEFAULT_PATH.read_text().split("## responses.csv")[1].split("\n## ")[0]
    return {
        match[1]: match[2]
        for match in re.finditer(r"^\| `([^`]+)` \|.*\| ([a-z -]+) \|$", section, flags=re.MULTILINE)
    }


def test_the_committed_data_dictionary_is_up_to_date():
    assert DEFAULT_PATH.read_text() == data_dictionary_document()
    call_command("data_dictionary", "--check")


def test_a_stale_data_dictionary_is_refused_by_the_check(tmp_path: Path):
    stale = tmp_path / "data-dictionary.md"
    stale.write_text(DEFAULT_PATH.read_text().replace("quasi-identifier", "answer"))
    with pytest.raises(CommandError, match="out of date"):
        call_command("data_dictionary", "--check", "--output", str(stale))
    call_command("data_dictionary", "--output", str(stale))
    call_command("data_dictionary", "--check", "--output", str(stale))


def test_every_exported_column_is_documented_with_the_class_of_the_export_dictionary(
    researcher, django_capture_on_commit_callbacks
):
    study = StudyFactory()
    completes(study, 2)
    client = Client()
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/studies/{study.slug}/export/", {"include_free_text": "on"})
    job = Job.objects.get(kind="survey_export")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    with zipfile.ZipFile(job.output.open("rb")) as archive:
        columns = next(csv.reader(io.StringIO(archive.read("responses.csv").decode())))
        dictionary = list(csv.DictReader(io.StringIO(archive.read("data_dictionary.csv").decode())))
    classes = documented()
    exported = {row["variable"]: row["disclosure"] for row in dictionary}
    assert set(exported) == set(columns)
    for column in columns:
        generic = re.sub(r"^(importance|rank)__.+$", r"\1__<criterion>", column)
        assert classes[generic] == exported[column], column
    assert exported["diagnoses__ptsd"] == "quasi-identifier" and exported["respondent"] == "pseudonym"
    assert exported["comments"] == "free text" and exported["ai_trust"] == "answer"
