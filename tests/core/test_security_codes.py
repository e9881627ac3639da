"""Resume and withdrawal codes cannot be guessed at speed: wrong codes per client address are limited."""

import pytest
from django.test import Client

from survey_app.models import ParticipantStatus
from tests.survey_app.factories import StudyFactory
from tests.survey_app.helpers import start

pytestmark = pytest.mark.django_db

WRONG = "AAAAA-BBBBB"


@pytest.fixture
def study():
    return StudyFactory()


@pytest.fixture
def saved_code(study) -> str:
    client = Client()
    start(client, study)
    return client.session["survey"][str(study.pk)]["resume_code"]


def _try(path: str, code: str, address: str = "203.0.113.5"):
    return Client().post(path, {"code": code, "confirm": "on"}, REMOTE_ADDR=address)


@pytest.mark.parametrize("page", ["resume", "withdraw"])
def test_wrong_codes_past_the_limit_are_refused_with_429(study, saved_code, settings, page):
    path = f"/s/{study.slug}/{page}/"
    for _ in range(settings.SURVEY_CODE_ATTEMPTS_LIMIT):
        assert "We could not find this code" in _try(path, WRONG).content.decode()
    refused = _try(path, saved_code)
    assert refused.status_code == 429
    assert "Too many codes tried" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= settings.SURVEY_CODE_ATTEMPTS_WINDOW_S
    assert refused["Cache-Control"] == "no-store"


def test_the_limit_is_shared_by_both_pages_and_per_address(study, saved_code, settings):
    for index in range(settings.SURVEY_CODE_ATTEMPTS_LIMIT):
        _try(f"/s/{study.slug}/{'resume' if index % 2 else 'withdraw'}/", WRONG)
    assert _try(f"/s/{study.slug}/resume/", WRONG).status_code == 429
    assert _try(f"/s/{study.slug}/resume/", saved_code, address="198.51.100.7").status_code == 302


def test_right_codes_are_not_counted(study, saved_code, settings):
    for _ in range(settings.SURVEY_CODE_ATTEMPTS_LIMIT + 5):
        assert _try(f"/s/{study.slug}/resume/", saved_code).status_code == 302
    response = _try(f"/s/{study.slug}/withdraw/", saved_code)
    assert response.status_code == 302
    assert study.participants.get().status == ParticipantStatus.WITHDRAWN
