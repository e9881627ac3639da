"""Nobody is locked out: returning through the Prolific link or in the same browser, the resume code shown
up front, the ranking's shown order confirmed, every answer on the review page, and Prolific studies that
cannot miss their completion URL."""

import re

import pytest
from django.test import Client
from django.utils.html import escape

from criteria.models import CriteriaSet
from survey_app.models import Answer, ConsentVersion, Participant, ParticipantStatus, Study
from tests.survey_app.factories import StudyFactory
from tests.survey_app.helpers import PageAnswers, answer_all, participant_of, start

pytestmark = pytest.mark.django_db

PID, PROLIFIC_STUDY, SESSION = (
    "5f8a1b2c3d4e5f6a7b8c9d0e",
    "60aa11bb22cc33dd44ee55ff",
    "6a7b8c9d0e1f2a3b4c5d6e7f",
)
PROLIFIC_QUERY = f"?PROLIFIC_PID={PID}&STUDY_ID={PROLIFIC_STUDY}&SESSION_ID={SESSION}"
COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc=DONE1234"


@pytest.fixture
def study():
    return StudyFactory(recruits_on_prolific=True, prolific_completion_url=COMPLETION_URL)


def resume_code(client: Client, study: Study) -> str:
    return client.session["survey"][str(study.pk)]["resume_code"]


def test_reopening_the_prolific_link_in_a_new_browser_carries_on_without_a_code(study):
    first = Client()
    participant = start(first, study, query=PROLIFIC_QUERY)
    first.post(f"/s/{study.slug}/q/1/", PageAnswers(participant).data(1))
    old_code = resume_code(first, study)

    returning = Client()
    response = returning.get(f"/s/{study.slug}/{PROLIFIC_QUERY}")
    assert response.status_code == 302 and response["Location"] == f"/s/{study.slug}/q/2/"
    assert participant_of(returning, study).pk == participant.pk
    assert Participant.objects.filter(study=study).count() == 1
    # The code they were shown is not stored, so they get a new one; the old one stops working.
    new_code = resume_code(returning, study)
    assert new_code != old_code
    assert new_code in returning.get(f"/s/{study.slug}/saved/").content.decode()
    refused = Client().post(f"/s/{study.slug}/resume/", {"code": old_code})
    assert "We could not find this code" in refused.content.decode()
    resumed = Client().post(f"/s/{study.slug}/resume/", {"code": new_code})
    assert resumed["Location"] == f"/s/{study.slug}/q/2/"


def test_a_completed_prolific_participant_sees_their_completion_code_again(study):
    client = Client()
    participant = start(client, study, query=PROLIFIC_QUERY)
    answer_all(client, study, participant)
    client.post(f"/s/{study.slug}/review/", {"nav": "submit"})

    page = Client().get(f"/s/{study.slug}/{PROLIFIC_QUERY}", follow=True).content.decode()
    assert "DONE1234" in page and f'href="{COMPLETION_URL}"' in page
    assert "Return to Prolific" in page


@pytest.mark.parametrize(
    "query",
    [
        f"?PROLIFIC_PID={PID}&STUDY_ID={PROLIFIC_STUDY}&SESSION_ID=7b8c9d0e1f2a3b4c5d6e7f80",
        f"?PROLIFIC_PID={PID}&STUDY_ID={PROLIFIC_STUDY}",
        f"?PROLIFIC_PID={PID}&STUDY_ID=70aa11bb22cc33dd44ee55ff&SESSION_ID={SESSION}",
    ],
    ids=["another-session", "no-session", "another-prolific-study"],
)
def test_the_prolific_id_alone_never_reaches_someone_elses_answers(study, query):
    client = Client()
    participant = start(client, study, query=PROLIFIC_QUERY)
    client.post(f"/s/{study.slug}/q/1/", PageAnswers(participant).data(1, gender="man"))

    stranger = Client()
    response = stranger.get(f"/s/{study.slug}/{query}")
    page = response.content.decode()
    assert response.status_code == 409 and "already taken part in this study" in page
    assert "survey" not in stranger.session or "participant" not in stranger.session["survey"].get(
        str(study.pk), {}
    )
    assert stranger.get(f"/s/{study.slug}/q/1/")["Location"] == f"/s/{study.slug}/"
    assert Participant.objects.filter(study=study).count() == 1


def test_a_withdrawn_prolific_participant_is_not_resumed(study):
    client = Client()
    start(client, study, query=PROLIFIC_QUERY)
    client.post(f"/s/{study.slug}/withdraw/", {"code": resume_code(client, study), "confirm": "on"})

    returning = Client()
    response = returning.get(f"/s/{study.slug}/{PROLIFIC_QUERY}")
    assert response.status_code == 409 and "You have withdrawn from this study" in response.content.decode()
    assert list(Participant.objects.filter(study=study).values_list("status", flat=True)) == [
        ParticipantStatus.WITHDRAWN
    ]


def test_another_prolific_id_in_a_shared_browser_starts_afresh(study):
    client = Client()
    first = start(client, study, query=PROLIFIC_QUERY)
    other_query = PROLIFIC_QUERY.replace(PID, "70b9c8d7e6f5a4b3c2d1e0f9").replace(
        SESSION, "80c9d8e7f6a5b4c3d2e1f0a9"
    )
    assert client.get(f"/s/{study.slug}/{other_query}")["Location"] == f"/s/{study.slug}/"
    assert "Do you agree to take part?" in client.get(f"/s/{study.slug}/").content.decode()
    second = start(client, study)
    assert second.pk != first.pk and second.prolific_pid_pseudonym != first.prolific_pid_pseudonym


def test_the_same_study_link_in_the_same_browser_carries_on_after_the_browser_closes(study):
    client = Client()
    participant = start(client, study)
    cookie = client.cookies["sessionid"]
    # A persistent cookie (not one that ends with the browser window), for the session's lifetime.
    assert int(cookie["max-age"]) > 3600 and cookie["expires"]
    assert client.get(f"/s/{study.slug}/")["Location"] == f"/s/{study.slug}/q/1/"
    assert participant_of(client, study).pk == participant.pk


def test_the_resume_code_is_shown_after_consent_and_on_every_survey_page(study):
    client = Client()
    client.post(f"/s/{study.slug}/", {"decision": "agree", "agree": "on"})
    code = resume_code(client, study)
    eligibility = client.get(f"/s/{study.slug}/eligibility/").content.decode()
    assert re.search(rf"data-resume-code>{code}<", eligibility)
    participant = start(client, study)
    answers = PageAnswers(participant)
    for number in range(1, len(answers.pages) + 1):
        page = client.get(f"/s/{study.slug}/q/{number}/").content.decode()
        assert f"data-resume-reminder>{code}<" in page, number
        client.post(f"/s/{study.slug}/q/{number}/", answers.data(number))
    assert f"data-resume-reminder>{code}<" in client.get(f"/s/{study.slug}/review/").content.decode()


def test_prolific_participants_get_the_code_after_consent_but_no_reminder_on_each_page(study):
    client = Client()
    client.get(f"/s/{study.slug}/{PROLIFIC_QUERY}")
    client.post(f"/s/{study.slug}/", {"decision": "agree", "agree": "on"})
    eligibility = client.get(f"/s/{study.slug}/eligibility/").content.decode()
    assert (
        resume_code(client, study) in eligibility and "Opening the study from Prolific again" in eligibility
    )
    start(client, study)
    assert "data-resume-reminder" not in client.get(f"/s/{study.slug}/q/1/").content.decode()


def _shown_ranking(client: Client, study: Study) -> list[str]:
    page = client.get(f"/s/{study.slug}/q/5/").content.decode()
    return [name for name in re.findall(r'<select name="(ranking-[a-z_]+)"', page)]


def _answer_until_ranking(client: Client, study: Study) -> tuple[Participant, PageAnswers]:
    participant = start(client, study)
    answers = PageAnswers(participant)
    for number in range(1, 5):
        client.post(f"/s/{study.slug}/q/{number}/", answers.data(number))
    return participant, answers


def test_an_untouched_ranking_asks_for_confirmation_and_saves_nothing(study):
    client = Client()
    participant, answers = _answer_until_ranking(client, study)
    shown = {name: str(rank) for rank, name in enumerate(_shown_ranking(client, study), start=1)}
    assert len(shown) == 5
    untouched = answers.data(5, **shown, **{"ranking-confirm": None})
    response = client.post(f"/s/{study.slug}/q/5/", untouched)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_ranking-confirm"' in page and "Change the order, or tick the box to keep it." in page
    assert not Answer.objects.filter(participant=participant, item__key="ranking").exists()
    assert Participant.objects.get(pk=participant.pk).pages_done == 4

    confirmed = client.post(f"/s/{study.slug}/q/5/", {**untouched, "ranking-confirm": "on"})
    assert confirmed["Location"] == f"/s/{study.slug}/q/6/"
    ranking = Answer.objects.get(participant=participant, item__key="ranking").value
    assert {f"ranking-{key}": str(rank) for key, rank in ranking.items()} == shown
    # Shown again, the confirmed order is ticked, so Continue does not ask twice.
    assert re.search(
        r'name="ranking-confirm"[^>]*checked', client.get(f"/s/{study.slug}/q/5/").content.decode()
    )


def test_a_reordered_ranking_needs_no_confirmation(study):
    client = Client()
    _, answers = _answer_until_ranking(client, study)
    shown = _shown_ranking(client, study)
    reversed_ranks = {name: str(len(shown) - index) for index, name in enumerate(shown)}
    response = client.post(
        f"/s/{study.slug}/q/5/", answers.data(5, **reversed_ranks, **{"ranking-confirm": None})
    )
    assert response["Location"] == f"/s/{study.slug}/q/6/"


def test_back_with_an_untouched_ranking_keeps_no_ranking(study):
    client = Client()
    participant, answers = _answer_until_ranking(client, study)
    shown = {name: str(rank) for rank, name in enumerate(_shown_ranking(client, study), start=1)}
    response = client.post(
        f"/s/{study.slug}/q/5/", {**answers.data(5, **shown, **{"ranking-confirm": None}), "nav": "back"}
    )
    assert response["Location"] == f"/s/{study.slug}/q/4/"
    assert not Answer.objects.filter(participant=participant, item__key="ranking").exists()


def test_the_review_page_shows_every_answer_with_a_link_to_change_each_page(study):
    client = Client()
    participant = start(client, study)
    answer_all(client, study, participant, comments="More evening appointments, please.")
    page = client.get(f"/s/{study.slug}/review/").content.decode()
    for number, title in enumerate((p["title"] for p in PageAnswers(participant).pages), start=1):
        assert f'href="/s/{study.slug}/q/{number}/">Change' in page and title in page
    items = {item.key: item for item in participant.instrument.items.all()}
    answers = {answer.item.key: answer.value for answer in participant.answers.select_related("item")}
    for key in ("age_group", "severity", "attention_check"):
        assert escape(items[key].prompt) in page
        assert escape(items[key].choice_labels[str(answers[key])]) in page
    assert "More evening appointments, please." in page
    ranking = answers["ranking"]
    names = {c.key: c.name for c in study.criteria_set.criteria.all()}
    listed = "".join(f"<li>{escape(names[key])}</li>" for key in sorted(ranking, key=ranking.get))
    assert listed in page
    importance = items["importance"].choice_labels
    assert escape(f"{names['safety']}: {importance[str(answers['importance']['safety'])]}") in page


def _study_form(**overrides):
    fields = {
        "title": "Pilot",
        "slug": "pilot",
        "criteria_set": CriteriaSet.objects.get(key="therapeutic", is_current=True).pk,
        "consent": ConsentVersion.objects.get().pk,
        "quota": 50,
        "completion_code": "C0DE",
        "screenout_code": "SCR",
        "support_text": "Call 999.",
        "recruits_on_prolific": "on",
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}


def test_a_prolific_study_needs_its_completion_url_and_warns_until_it_has_one(researcher):
    client = Client()
    client.force_login(researcher)
    refused = client.post("/studies/new/", _study_form())
    assert (
        refused.status_code == 200 and "A Prolific study needs its completion URL" in refused.content.decode()
    )
    assert not Study.objects.exists()
    assert (
        client.post("/studies/new/", _study_form(recruits_on_prolific=None))["Location"] == "/studies/pilot/"
    )
    study = Study.objects.get()
    assert "data-completion-url-missing" not in client.get("/studies/pilot/").content.decode()

    Study.objects.filter(pk=study.pk).update(recruits_on_prolific=True)
    dashboard = client.get("/studies/pilot/").content.decode()
    assert "data-completion-url-missing" in dashboard and "Set the Prolific completion URL" in dashboard
    response = client.post("/studies/pilot/edit/", _study_form(prolific_completion_url=COMPLETION_URL))
    assert response.status_code == 302
    assert "data-completion-url-missing" not in client.get("/studies/pilot/").content.decode()
