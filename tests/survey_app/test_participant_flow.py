"""The participant journey through the pages, without JavaScript: entry, consent, eligibility, pages with
server-side validation, back navigation, save and resume, submission, withdrawal, safety."""

import json

import pytest
from django.test import Client

from core.models import AuditEvent
from survey_app.models import (
    Answer,
    Instrument,
    Participant,
    ParticipantStatus,
    SafetyFlag,
    Source,
    StudyStatus,
    Submission,
)
from survey_app.pseudonyms import keyed_pseudonym
from survey_app.services.studies import instrument_publish
from tests.survey_app.factories import StudyFactory
from tests.survey_app.helpers import PageAnswers, answer_all, is_checked, participant_of, start

pytestmark = pytest.mark.django_db

PID, PROLIFIC_STUDY, SESSION = (
    "5f8a1b2c3d4e5f6a7b8c9d0e",
    "60aa11bb22cc33dd44ee55ff",
    "sess7788aa99bb00cc11dd22",
)
PROLIFIC_QUERY = f"?PROLIFIC_PID={PID}&STUDY_ID={PROLIFIC_STUDY}&SESSION_ID={SESSION}"


@pytest.fixture
def study():
    return StudyFactory()


def test_prolific_parameters_are_stored_as_keyed_pseudonyms_and_never_echoed(study, researcher):
    client = Client()
    response = client.get(f"/s/{study.slug}/{PROLIFIC_QUERY}")
    assert response.status_code == 302 and response["Location"] == f"/s/{study.slug}/"
    pages = [client.get(f"/s/{study.slug}/", follow=True)]
    participant = start(client, study)
    answers = PageAnswers(participant)
    for number in range(1, len(answers.pages) + 1):
        pages.append(client.post(f"/s/{study.slug}/q/{number}/", answers.data(number), follow=True))
    pages.append(client.post(f"/s/{study.slug}/review/", {"nav": "submit"}, follow=True))
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED and participant.source == Source.PROLIFIC
    assert participant.prolific_pid_pseudonym == keyed_pseudonym(purpose="prolific-pid", value=PID)
    assert participant.prolific_study_pseudonym == keyed_pseudonym(
        purpose="prolific-study", value=PROLIFIC_STUDY
    )
    assert participant.prolific_session_pseudonym == keyed_pseudonym(
        purpose="prolific-session", value=SESSION
    )
    stored = json.dumps(list(Participant.objects.values()), default=str) + json.dumps(
        dict(client.session), default=str
    )
    stored += json.dumps(list(AuditEvent.objects.values()), default=str)
    researcher_client = Client()
    researcher_client.force_login(researcher)
    pages.append(researcher_client.get(f"/studies/{study.slug}/"))
    for raw in (PID, PROLIFIC_STUDY, SESSION):
        assert raw not in stored
        for page in pages:
            assert raw not in page.content.decode()


def test_a_malformed_prolific_link_is_refused_without_echoing_it(study):
    response = Client().get(f"/s/{study.slug}/?PROLIFIC_PID=<script>alert(1)</script>")
    assert response.status_code == 400
    assert (
        "<script>alert" not in response.content.decode()
        and "incomplete or damaged" in response.content.decode()
    )


def test_declining_from_prolific_ends_politely_with_return_guidance(study):
    client = Client()
    client.get(f"/s/{study.slug}/{PROLIFIC_QUERY}")
    response = client.post(f"/s/{study.slug}/", {"decision": "decline"}, follow=True)
    page = response.content.decode()
    assert "You chose not to take part" in page and "return your submission" in page
    participant = Participant.objects.get(study=study)
    assert participant.status == ParticipantStatus.DECLINED and participant.prolific_pid_pseudonym == ""
    assert participant.resume_code_hash is None and not participant.answers.exists()


def test_declining_without_prolific_has_no_prolific_guidance(study):
    client = Client()
    response = client.post(f"/s/{study.slug}/", {"decision": "decline"}, follow=True)
    assert "You chose not to take part" in response.content.decode()
    assert "Prolific" not in response.content.decode()


def test_agreeing_needs_the_explicit_tick(study):
    response = Client().post(f"/s/{study.slug}/", {"decision": "agree"})
    page = response.content.decode()
    assert response.status_code == 200 and 'href="#id_agree"' in page and "tick the box" in page
    assert not Participant.objects.exists()


def test_an_ineligible_participant_is_screened_out_with_a_code(study):
    client = Client()
    client.post(f"/s/{study.slug}/", {"decision": "agree", "agree": "on"})
    response = client.post(
        f"/s/{study.slug}/eligibility/",
        {"version": "1", "eligible_adult": "no", "eligible_lived_experience": "yes"},
        follow=True,
    )
    assert study.screenout_code in response.content.decode()
    participant = participant_of(client, study)
    assert participant.status == ParticipantStatus.SCREENED_OUT and not participant.answers.exists()
    assert client.get(f"/s/{study.slug}/q/1/")["Location"] == f"/s/{study.slug}/not-eligible/"


def test_full_journey_gives_the_completion_code_and_the_prolific_return_link(study):
    study.prolific_completion_url = "https://app.prolific.com/submissions/complete?cc=DONE1234"
    study.save()
    client = Client()
    participant = start(client, study, query=PROLIFIC_QUERY)
    answer_all(client, study, participant)
    review = client.get(f"/s/{study.slug}/review/")
    assert "Step 7 of 7" in review.content.decode()
    response = client.post(f"/s/{study.slug}/review/", {"nav": "submit"}, follow=True)
    page = response.content.decode()
    assert "DONE1234" in page and 'href="https://app.prolific.com/submissions/complete?cc=DONE1234"' in page
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED
    submission = Submission.objects.get(participant=participant)
    assert submission.duration_s >= 0
    assert {answer.item.instrument_id for answer in participant.answers.all()} == {participant.instrument_id}


def test_direct_participants_get_the_code_without_a_prolific_link(study):
    study.prolific_completion_url = "https://app.prolific.com/submissions/complete?cc=DONE1234"
    study.save()
    client = Client()
    answer_all(client, study, start(client, study))
    page = client.post(f"/s/{study.slug}/review/", {"nav": "submit"}, follow=True).content.decode()
    assert "DONE1234" in page and "app.prolific.com" not in page


@pytest.mark.parametrize(
    ("number", "overrides", "message"),
    [
        (4, {"importance-empathy": "7"}, "Choose a rating from 1 to 5."),
        (4, {"importance-safety": None}, "Rate how important Safety is to you."),
        (5, {"ranking-empathy": "1", "ranking-active_listening": "1"}, "Rank 1 is given to"),
        (5, {"ranking-trust_rapport": None}, "Give Trust &amp; rapport a rank."),
        (5, {"ranking-empathy": "6"}, "Choose a rank from 1 to 5."),
        (1, {"age_group": "over_9000"}, "Choose one of the answers listed."),
        (1, {"ethnicity": ["white", "prefer_not_to_say"]}, "cannot be combined with other answers"),
        (1, {"ethnicity": ["white", "martian"]}, "Choose only answers from the list."),
        (1, {"version": "99"}, "This page came from version 99 of the questionnaire"),
        (
            6,
            {"comments": "x" * 2001},
            "Please shorten your answer to 2000 characters or fewer (it has 2001).",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(study, number, overrides, message):
    client = Client()
    participant = start(client, study)
    answers = PageAnswers(participant)
    for earlier in range(1, number):
        client.post(f"/s/{study.slug}/q/{earlier}/", answers.data(earlier))
    participant.refresh_from_db()
    saved = {(a.item_id, json.dumps(a.value)) for a in Answer.objects.filter(participant=participant)}
    response = client.post(f"/s/{study.slug}/q/{number}/", answers.data(number, **overrides))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in page and message in page
    assert {(a.item_id, json.dumps(a.value)) for a in Answer.objects.filter(participant=participant)} == saved
    assert Participant.objects.get(pk=participant.pk).pages_done == number - 1


def test_back_keeps_partial_answers_without_requiring_the_rest(study):
    client = Client()
    participant = start(client, study)
    answers = PageAnswers(participant)
    client.post(f"/s/{study.slug}/q/1/", answers.data(1))
    response = client.post(f"/s/{study.slug}/q/2/", {"version": "1", "severity": "severe", "nav": "back"})
    assert response["Location"] == f"/s/{study.slug}/q/1/"
    page_one = client.get(f"/s/{study.slug}/q/1/").content.decode()
    assert is_checked(page_one, "age_group", answers.answers["about_you"]["age_group"])
    page_two = client.get(f"/s/{study.slug}/q/2/").content.decode()
    assert is_checked(page_two, "severity", "severe")
    assert not is_checked(page_two, "current_treatment", answers.answers["background"]["current_treatment"])
    assert Participant.objects.get(pk=participant.pk).pages_done == 1


def test_back_with_a_tampered_value_saves_nothing(study):
    client = Client()
    participant = start(client, study)
    response = client.post(
        f"/s/{study.slug}/q/1/", {"version": "1", "age_group": "bogus", "gender": "man", "nav": "back"}
    )
    assert response.status_code == 200 and "Choose one of the answers listed." in response.content.decode()
    assert not Answer.objects.filter(participant=participant).exists()


def test_pages_cannot_be_skipped(study):
    client = Client()
    start(client, study)
    assert client.get(f"/s/{study.slug}/q/4/")["Location"] == f"/s/{study.slug}/q/1/"
    assert client.get(f"/s/{study.slug}/review/")["Location"] == f"/s/{study.slug}/q/1/"


def test_save_and_resume_in_another_browser(study):
    client = Client()
    participant = start(client, study)
    answers = PageAnswers(participant)
    client.post(f"/s/{study.slug}/q/1/", answers.data(1))
    response = client.post(f"/s/{study.slug}/q/2/", {**answers.data(2), "nav": "save"}, follow=True)
    code = client.session["survey"][str(study.pk)]["resume_code"]
    assert (
        code in response.content.decode()
        and f"/s/{study.slug}/resume/?code={code}" in response.content.decode()
    )

    other = Client()
    wrong = other.post(f"/s/{study.slug}/resume/", {"code": "AAAAA-BBBBB"})
    assert "We could not find this code" in wrong.content.decode()
    resumed = other.post(f"/s/{study.slug}/resume/", {"code": code.lower().replace("-", " ")})
    # Save-and-finish-later kept page 2 without marking it done: the participant returns to it.
    assert resumed["Location"] == f"/s/{study.slug}/q/2/"
    page_two = other.get(f"/s/{study.slug}/q/2/").content.decode()
    assert is_checked(page_two, "severity", answers.answers["background"]["severity"])
    assert participant_of(other, study).pk == participant.pk


def test_submit_twice_makes_one_submission(study):
    client = Client()
    participant = start(client, study)
    answer_all(client, study, participant)
    first = client.post(f"/s/{study.slug}/review/", {"nav": "submit"})
    second = client.post(f"/s/{study.slug}/review/", {"nav": "submit"})
    assert first["Location"] == second["Location"] == f"/s/{study.slug}/done/"
    assert Submission.objects.filter(participant=participant).count() == 1


def test_submit_with_a_missing_answer_returns_to_that_page(study):
    client = Client()
    participant = start(client, study)
    answer_all(client, study, participant)
    Answer.objects.filter(participant=participant, item__key="ranking").delete()
    response = client.post(f"/s/{study.slug}/review/", {"nav": "submit"})
    assert response["Location"] == f"/s/{study.slug}/q/5/"
    assert not Submission.objects.exists()


def test_withdrawal_deletes_answers_and_is_audited(study):
    client = Client()
    participant = start(client, study)
    answer_all(client, study, participant, comments="I would like more human support.")
    client.post(f"/s/{study.slug}/review/", {"nav": "submit"})
    code = client.session["survey"][str(study.pk)]["resume_code"]

    other = Client()
    refused = other.post(f"/s/{study.slug}/withdraw/", {"code": code})
    assert "Tick the box" in refused.content.decode()
    response = other.post(f"/s/{study.slug}/withdraw/", {"code": code, "confirm": "on"}, follow=True)
    assert "Your answers have been deleted" in response.content.decode()
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.WITHDRAWN and participant.withdrawn_from == "completed"
    assert not Answer.objects.filter(participant=participant).exists()
    assert not Submission.objects.filter(participant=participant).exists()
    event = AuditEvent.objects.get(action="survey.participant_withdraw")
    assert event.object_id == str(participant.pk) and event.ip_address is None
    assert event.detail["answers_deleted"] > 10


def test_withdrawal_with_an_unknown_code_is_refused(study):
    response = Client().post(f"/s/{study.slug}/withdraw/", {"code": "AAAAA-BBBBB", "confirm": "on"})
    assert "We could not find this code" in response.content.decode()
    assert not AuditEvent.objects.filter(action="survey.participant_withdraw").exists()


def test_unknown_and_draft_studies_are_not_found(db):
    assert Client().get("/s/no-such-study/").status_code == 404
    draft = StudyFactory(status=StudyStatus.DRAFT)
    response = Client().get(f"/s/{draft.slug}/")
    assert response.status_code == 404 and "We could not find this study" in response.content.decode()


def test_a_closed_study_turns_new_people_away_but_lets_participants_finish(study):
    client = Client()
    participant = start(client, study)
    study.status = StudyStatus.CLOSED
    study.save()
    response = Client().get(f"/s/{study.slug}/")
    assert response.status_code == 410 and "This study has closed" in response.content.decode()
    refused = Client().post(f"/s/{study.slug}/", {"decision": "agree", "agree": "on"})
    assert refused.status_code == 410
    answer_all(client, study, participant)
    assert client.post(f"/s/{study.slug}/review/", {"nav": "submit"})["Location"] == f"/s/{study.slug}/done/"


def test_the_quota_turns_new_people_away(study):
    study.quota = 1
    study.save()
    client = Client()
    answer_all(client, study, start(client, study))
    client.post(f"/s/{study.slug}/review/", {"nav": "submit"})
    response = Client().get(f"/s/{study.slug}/")
    assert "all the responses it needs" in response.content.decode()


def test_crisis_language_shows_support_flags_and_never_blocks(study):
    client = Client()
    participant = start(client, study)
    answers = PageAnswers(participant)
    for number in range(1, 6):
        client.post(f"/s/{study.slug}/q/{number}/", answers.data(number))
    response = client.post(
        f"/s/{study.slug}/q/6/", answers.data(6, comments="Some days I want to end my life.")
    )
    assert response["Location"] == f"/s/{study.slug}/review/"
    review = client.get(f"/s/{study.slug}/review/").content.decode()
    assert "Thank you for telling us" in review and "Samaritans" in review
    flag = SafetyFlag.objects.get(participant=participant)
    assert flag.matched == ["suicide"] and flag.reviewed_at is None
    assert "Thank you for telling us" not in client.get(f"/s/{study.slug}/review/").content.decode()


def test_a_failed_attention_check_is_recorded_not_blocking(study):
    client = Client()
    participant = start(client, study)
    answer_all(client, study, participant, attention_check="5")
    client.post(f"/s/{study.slug}/review/", {"nav": "submit"})
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.COMPLETED and participant.attention_failures == 1


def test_participants_keep_the_instrument_version_they_started(study, researcher):
    client = Client()
    participant = start(client, study)
    new = instrument_publish(actor=researcher, edits={"age_group": {"prompt": "Which age group are you in?"}})
    assert "What is your age group?" in client.get(f"/s/{study.slug}/q/1/").content.decode()
    answer_all(client, study, participant)
    assert set(participant.answers.values_list("item__instrument__version", flat=True)) == {
        participant.instrument.version
    }
    newcomer = Client()
    later = start(newcomer, study)
    assert later.instrument == new and new.version == participant.instrument.version + 1
    assert "Which age group are you in?" in newcomer.get(f"/s/{study.slug}/q/1/").content.decode()
    stale = newcomer.post(
        f"/s/{study.slug}/q/1/", PageAnswers(later).data(1, version=str(participant.instrument.version))
    )
    assert "This page came from version" in stale.content.decode()
    assert Instrument.objects.filter(is_current=True).get() == new


def test_every_participant_page_shows_the_study_support_panel(study):
    study.support_text = "Call the study crisis line on 0800 000 000."
    study.save()
    assert "0800 000 000" in Client().get(f"/s/{study.slug}/").content.decode()
    client = Client()
    urls = [f"/s/{study.slug}/resume/", f"/s/{study.slug}/withdraw/"]
    participant = start(client, study)
    urls += [f"/s/{study.slug}/q/1/", f"/s/{study.slug}/saved/"]
    for url in urls:
        response = client.get(url)
        page = response.content.decode()
        assert "Need support now?" in page and "0800 000 000" in page, url
        assert response["Cache-Control"] == "no-store"
    assert participant.status == ParticipantStatus.IN_PROGRESS
    assert "Need support now?" in Client().get("/s/unknown-study/").content.decode()
