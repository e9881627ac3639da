"""Simultaneous duplicate rating submissions against PostgreSQL leave exactly one rating per criterion."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from evaluation.models import StudyAssignment, StudyRating
from tests.evaluation.helpers import make_study

pytestmark = pytest.mark.usefixtures("postgres_only", "seeded_db")

THREADS = 8


def test_simultaneous_submissions_store_one_rating_per_criterion(researcher):
    study, clinicians = make_study(researcher=researcher, n_scenarios=4, n_questions=4)
    assignment = StudyAssignment.objects.filter(clinician=clinicians[0]).first()
    keys = list(study.criteria_set.criteria.values_list("key", flat=True))
    url = reverse("api-clinician-item-ratings", args=[assignment.token])
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []

    def submit(choice: str) -> None:
        try:
            client = Client()
            client.force_login(clinicians[0])
            barrier.wait()
            body = {"ratings": dict.fromkeys(keys, choice), "complete": True}
            statuses.append(client.post(url, body, content_type="application/json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=("A" if i % 2 else "B",)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * THREADS
    ratings = StudyRating.objects.filter(assignment=assignment)
    assert ratings.count() == len(keys)
    assert len(set(ratings.values_list("choice", flat=True))) == 1  # one submission's answers, applied whole
    assignment.refresh_from_db()
    assert assignment.is_submitted
