"""The final submit is exactly-once under real concurrency (PostgreSQL, separate connections per thread):
double clicks, retries and two open tabs all end in one submission."""

import threading

import pytest
from django.db import connections
from django.test import Client

from survey_app.models import Participant, ParticipantStatus, Submission
from survey_app.services.participants import survey_submit
from tests.survey_app.factories import StudyFactory, answer_pages, enrol
from tests.survey_app.helpers import answer_all, start

pytestmark = [
    pytest.mark.services,
    pytest.mark.usefixtures("seeded_db"),
]

THREADS = 12


def run_together(action) -> list:
    """Run `action` in THREADS threads released at the same moment; collect results or exceptions."""
    barrier = threading.Barrier(THREADS)
    results: list = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            outcome = action()
        except Exception as error:
            outcome = error
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_simultaneous_submits_from_the_same_session_make_one_submission(postgres_only):
    study = StudyFactory()
    client = Client()
    participant = start(client, study)
    answer_all(client, study, participant)
    session_cookie = client.cookies

    def submit():
        tab = Client()
        tab.cookies = session_cookie
        response = tab.post(f"/s/{study.slug}/review/", {"nav": "submit"})
        return response.status_code, response.get("Location")

    results = run_together(submit)
    assert results == [(302, f"/s/{study.slug}/done/")] * THREADS
    assert Submission.objects.filter(participant=participant).count() == 1
    assert Participant.objects.get(pk=participant.pk).status == ParticipantStatus.COMPLETED


def test_simultaneous_service_calls_create_exactly_once(postgres_only):
    study = StudyFactory()
    participant = enrol(study).participant
    answer_pages(participant)

    results = run_together(
        lambda: survey_submit(participant=Participant.objects.get(pk=participant.pk)).created
    )
    assert sorted(results) == [False] * (THREADS - 1) + [True]
    assert Submission.objects.count() == 1
