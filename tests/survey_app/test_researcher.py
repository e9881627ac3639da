"""Researcher side: studies, dashboard figures with suppression, exports, personas, weights, questionnaire
and consent versions, safety follow-up. Everything a researcher changes is audit-logged."""

import csv
import io
import json
import zipfile

import pytest
from django.test import Client

from core.models import AuditEvent, Job, Status
from core.services import job_run
from criteria.models import CriteriaSet
from survey_app.models import (
    ConsentVersion,
    Instrument,
    ObjectiveWeightSet,
    Participant,
    Persona,
    SafetyFlag,
    Study,
    StudyStatus,
)
from survey_app.selectors import (
    demographic_breakdowns,
    objective_weight_sets,
    personas_for_judging,
    primary_preference_shares,
    study_progress,
)
from survey_app.services.participants import participant_withdraw, survey_submit
from tests.survey_app.factories import StudyFactory, answer_pages, completes, enrol

pytestmark = pytest.mark.django_db

RESEARCHER_PAGES = [
    "/studies/",
    "/studies/new/",
    "/studies/{slug}/",
    "/studies/{slug}/edit/",
    "/studies/{slug}/personas/",
    "/studies/{slug}/personas/export/",
    "/studies/{slug}/weights/",
    "/survey/consent/",
    "/survey/questionnaire/",
]


@pytest.fixture
def study():
    return StudyFactory()


@pytest.fixture
def client(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def complete_with(study: Study, **overrides) -> Participant:
    participant = enrol(study).participant
    answer_pages(participant, overrides=overrides)
    survey_submit(participant=participant)
    participant.refresh_from_db()
    return participant


@pytest.mark.parametrize("path", RESEARCHER_PAGES)
def test_survey_research_pages_are_for_researchers_only(study, clinician, client, path):
    url = path.format(slug=study.slug)
    assert client.get(url).status_code == 200
    other = Client()
    assert other.get(url).status_code == 302
    other.force_login(clinician)
    assert other.get(url).status_code == 403


def test_a_study_is_created_as_a_draft_then_opened_and_closed(client, researcher):
    therapeutic = CriteriaSet.objects.get(key="therapeutic", is_current=True)
    response = client.post(
        "/studies/new/",
        {
            "title": "Pilot",
            "slug": "pilot",
            "criteria_set": therapeutic.pk,
            "consent": ConsentVersion.objects.get().pk,
            "quota": 50,
            "completion_code": "C0DE",
            "screenout_code": "SCR",
            "support_text": "Call 999.",
        },
    )
    assert response["Location"] == "/studies/pilot/"
    study = Study.objects.get(slug="pilot")
    assert study.status == StudyStatus.DRAFT and study.created_by == researcher
    assert Client().get("/s/pilot/").status_code == 404
    client.post("/studies/pilot/status/", {"status": "open"})
    assert Client().get("/s/pilot/").status_code == 200
    client.post("/studies/pilot/status/", {"status": "closed"})
    assert Client().get("/s/pilot/").status_code == 410
    actions = list(AuditEvent.objects.filter(object_type="survey_app.study").values_list("action", flat=True))
    assert sorted(actions) == ["survey.study_close", "survey.study_create", "survey.study_open"]


def test_study_form_refuses_bad_values(client):
    response = client.post(
        "/studies/new/",
        {"title": "x", "slug": "bad slug!", "quota": 0, "prolific_completion_url": "http://x.org"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and not Study.objects.exists()
    assert "Use an https:// address." in page and "Enter a valid “slug”" in page


def test_criteria_and_consent_are_fixed_once_participants_exist(study, client):
    enrol(study)
    gricean = CriteriaSet.objects.get(key="gricean")
    client.post(
        f"/studies/{study.slug}/edit/",
        {
            "title": "Renamed",
            "slug": "renamed",
            "criteria_set": gricean.pk,
            "consent": study.consent.pk,
            "quota": 10,
            "completion_code": "A",
            "screenout_code": "B",
            "support_text": "x",
        },
    )
    study.refresh_from_db()
    assert study.title == "Renamed" and study.slug != "renamed" and study.criteria_set.key == "therapeutic"


def test_dashboard_counts_and_charts(study, client):
    finished = completes(study, 4)
    complete_with(study, attention_check="3")
    enrol(study)  # partial
    enrol(study, eligible=False)  # screened out
    leaving = enrol(study)
    participant_withdraw(study=study, code=leaving.resume_code)
    progress = study_progress(study=study)
    assert (progress.completes, progress.partials, progress.screened_out, progress.withdrawn) == (5, 1, 1, 1)
    assert progress.attention_failures >= 1 and progress.median_duration_s is not None
    rows, total = primary_preference_shares(study=study)
    firsts = [
        next(k for k, r in p.answers.get(item__key="ranking").value.items() if r == 1) for p in finished
    ]
    assert total == 5 and sum(row.count for row in rows) == 5
    for key in set(firsts):
        assert next(row for row in rows if row.key == key).count >= firsts.count(key)
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert page.count('role="img"') == 2 and "<svg" in page and "Mean importance rating per criterion" in page
    assert "Withdrawals" in page and "Attention-check failures" in page


def test_dashboard_suppresses_small_cells_and_cells_derivable_from_the_total(study, client):
    for _ in range(12):
        complete_with(study, age_group="25_34", gender="woman")
    complete_with(study, age_group="35_44", gender="woman")
    age = next(table for table in demographic_breakdowns(study=study) if table.key == "age_group")
    cells = dict(age.rows)
    assert cells["35 to 44"].suppressed  # 1 respondent: primary suppression
    assert cells["25 to 34"].suppressed  # 12, but 13 - 1 would reveal it: secondary suppression
    assert cells["18 to 24"].shown == 0 and age.total.shown == 13
    gender = next(table for table in demographic_breakdowns(study=study) if table.key == "gender")
    assert dict(gender.rows)["Woman"].shown == 13
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert '<span class="suppressed">&le;&nbsp;10</span>' in page  # 35 to 44: primary
    assert '<span class="suppressed">suppressed</span>' in page  # 25 to 34: secondary
    assert "groups below are hidden at 13 complete responses" in page


def test_export_is_a_de_identified_background_job(study, client, django_capture_on_commit_callbacks):
    participants = completes(study, 3)
    complete_with(study, comments="I value being listened to.")
    leaving = enrol(study)
    answer_pages(leaving.participant)
    survey_submit(participant=leaving.participant)
    participant_withdraw(study=study, code=leaving.resume_code)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/studies/{study.slug}/export/", {})
    job = Job.objects.get(kind="survey_export")
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert AuditEvent.objects.filter(action="survey.export", object_id=str(study.pk)).exists()
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    with zipfile.ZipFile(job.output.open("rb")) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("responses.csv").decode())))
        dictionary = list(csv.DictReader(io.StringIO(archive.read("data_dictionary.csv").decode())))
    assert len(rows) == 4  # the withdrawn participant is in no export made after withdrawal
    assert "comments" not in rows[0] and "I value being listened to." not in json.dumps(rows)
    assert {"importance__empathy", "rank__empathy", "ethnicity__white", "attention_check"} <= set(rows[0])
    assert "rank__safety" not in rows[0]
    ids = {str(p.pk) for p in participants} | {p.resume_code_hash for p in participants}
    assert not ids & {row["respondent"] for row in rows}
    assert {row["age_group"] for row in rows} == {"suppressed"}  # 4 respondents: every category is small
    assert list(dictionary[0]) == ["variable", "label", "type", "choices", "disclosure", "instrument_version"]
    importance = next(row for row in dictionary if row["variable"] == "importance__empathy")
    assert importance["instrument_version"] == "1" and "5=Extremely important" in importance["choices"]

    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/studies/{study.slug}/export/", {"include_free_text": "on"})
    second = Job.objects.filter(kind="survey_export").exclude(pk=job.pk).get()
    job_run(job_id=second.pk)
    second.refresh_from_db()
    with zipfile.ZipFile(second.output.open("rb")) as archive:
        again = list(csv.DictReader(io.StringIO(archive.read("responses.csv").decode())))
    assert "I value being listened to." in {row["comments"] for row in again}
    assert not {row["respondent"] for row in rows} & {row["respondent"] for row in again}


def test_personas_are_built_selected_split_and_exported(study, client):
    completes(study, 9)
    response = client.post(f"/studies/{study.slug}/personas/", {"action": "build"})
    assert response.status_code == 302 and Persona.objects.filter(study=study).count() == 9
    persona = Persona.objects.filter(study=study).first()
    assert 0 <= persona.quality_score <= 1 and "Therapy preferences" in persona.text
    refused = client.post(
        f"/studies/{study.slug}/personas/",
        {"action": "select", "n": 20, "n_test": 5, "min_quality": 0, "seed": 1},
    )
    assert "Only 9 personas reach quality" in refused.content.decode()
    client.post(
        f"/studies/{study.slug}/personas/",
        {"action": "select", "n": 6, "n_test": 2, "min_quality": 0, "seed": 1},
    )
    assert personas_for_judging(study=study).count() == 6
    assert personas_for_judging(study=study, split="test").count() == 2
    assert personas_for_judging(split="train").count() == 4
    export = client.get(f"/studies/{study.slug}/personas/export/")
    lines = [json.loads(line) for line in export.content.decode().splitlines()]
    assert len(lines) == 6 and {line["split"] for line in lines} == {"train", "test"}
    assert AuditEvent.objects.filter(action="survey.personas_export").exists()


def test_population_weights_match_the_hand_computation(study, client):
    """Means: empathy 5, active listening / self-motivated change / trust / autonomy 3, safety 2 (sum 19).
    Safety 2/19 = 0.105 is below the 0.25 floor: it becomes 0.25 and the rest share 0.75 in proportion:
    empathy 0.75 * 5/17 = 0.220588, each 3-rated criterion 0.75 * 3/17 = 0.132353."""
    ratings = [
        {
            "empathy": 5,
            "active_listening": 4,
            "self_motivated_change": 3,
            "trust_rapport": 4,
            "patient_autonomy": 2,
            "safety": 2,
        },
        {
            "empathy": 5,
            "active_listening": 2,
            "self_motivated_change": 3,
            "trust_rapport": 2,
            "patient_autonomy": 4,
            "safety": 2,
        },
    ]
    for importance in ratings:
        complete_with(study, importance=importance)
    response = client.post(
        f"/studies/{study.slug}/weights/", {"name": "Hand", "safety_floor": 0.25, "clusters": 0, "seed": 1}
    )
    assert response.status_code == 302
    weight_set = objective_weight_sets().get()
    assert weight_set.weights == pytest.approx(
        {
            "empathy": 0.220588,
            "active_listening": 0.132353,
            "self_motivated_change": 0.132353,
            "trust_rapport": 0.132353,
            "patient_autonomy": 0.132353,
            "safety": 0.25,
        },
        abs=1e-6,
    )
    assert sum(weight_set.weights.values()) == pytest.approx(1.0, abs=1e-9)
    assert weight_set.derivation["mean_importance"]["empathy"] == 5 and weight_set.derivation["floor_applied"]
    exported = json.loads(client.get(f"/studies/{study.slug}/weights/{weight_set.pk}/export/").content)
    assert exported["weights"] == weight_set.weights and "method" in exported["derivation"]
    assert AuditEvent.objects.filter(action="survey.weights_derive").exists()


def test_cluster_weights_each_sum_to_one_and_respect_the_floor(study, client):
    completes(study, 10)
    client.post(f"/studies/{study.slug}/personas/", {"action": "build"})
    client.post(
        f"/studies/{study.slug}/weights/", {"name": "Clusters", "safety_floor": 0.3, "clusters": 2, "seed": 3}
    )
    sets = list(objective_weight_sets(study=study))
    clusters = [s for s in sets if s.scope == ObjectiveWeightSet.Scope.CLUSTER]
    assert len(sets) == 1 + len(clusters) and 1 <= len(clusters) <= 2
    assert sum(s.derivation["n"] for s in clusters) == 10
    for weight_set in sets:
        assert sum(weight_set.weights.values()) == pytest.approx(1.0, abs=1e-9)
        assert min(weight_set.weights.values()) >= 0 and weight_set.weights["safety"] >= 0.3 - 1e-9


def test_weights_need_complete_responses(study, client):
    response = client.post(
        f"/studies/{study.slug}/weights/", {"name": "Empty", "safety_floor": 0.3, "clusters": 0, "seed": 1}
    )
    assert "no complete responses" in response.content.decode() and not ObjectiveWeightSet.objects.exists()


def test_editing_the_questionnaire_publishes_a_new_version(client):
    current = Instrument.objects.get(is_current=True)
    form = client.get("/survey/questionnaire/").context["form"]
    data = {name: form[name].value() for name in form.fields}
    data["age_group-prompt"] = "Which age group are you in?"
    data["gender-choices"] = data["gender-choices"].replace("Woman", "Woman (including trans women)")
    response = client.post("/survey/questionnaire/", data)
    assert response.status_code == 302
    new = Instrument.objects.get(is_current=True)
    assert new.version == current.version + 1
    assert new.items.get(key="age_group").prompt == "Which age group are you in?"
    assert ["woman", "Woman (including trans women)"] in new.items.get(key="gender").choices
    assert current.items.get(key="age_group").prompt == "What is your age group?"
    assert AuditEvent.objects.get(action="survey.instrument_publish").detail["changed"] == [
        "age_group.prompt",
        "gender.choices",
    ]

    data["ai_trust-choices"] = "1 = No\n2 = Maybe\n9 = Yes"
    refused = client.post("/survey/questionnaire/", data)
    assert "This scale&#x27;s values are fixed" in refused.content.decode()
    assert Instrument.objects.get(is_current=True) == new


def test_publishing_consent_creates_a_version(client):
    client.post("/survey/consent/", {"title": "Sheet v2", "body": "New text", "agreement": "I agree"})
    assert ConsentVersion.objects.order_by("-version").first().version == 2
    assert AuditEvent.objects.filter(action="survey.consent_publish").exists()


def test_safety_flags_are_followed_up_once(study, client):
    flagged = complete_with(study, comments="I have been self-harming again.")
    flag = SafetyFlag.objects.get(participant=flagged)
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert "I have been self-harming again." in page and flagged.reference in page
    client.post(f"/studies/{study.slug}/flags/{flag.pk}/review/", {"note": "Passed to the clinical lead."})
    client.post(f"/studies/{study.slug}/flags/{flag.pk}/review/", {"note": "again"})
    flag.refresh_from_db()
    assert flag.reviewed_at is not None and flag.review_note == "Passed to the clinical lead."
    assert AuditEvent.objects.filter(action="survey.safety_flag_review").count() == 1
