"""A clinician's queue: counts to do / done / skipped over open studies, Continue to the next item (then to
the final question), skipping an item with a reason (recorded once, undone by submitting the item, never in
the statistics), and an incomplete comparison answered with an error summary linking to each criterion."""

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from evaluation.models import StudyAssignment
from evaluation.selectors.studies import clinician_queue_summary, study_rating_records
from evaluation.services.studies import (
    RatingInvalid,
    StudyClosed,
    clinician_study_close,
    study_assignment_skip,
    study_rating_submit,
)
from tests.evaluation.helpers import make_study

pytestmark = pytest.mark.django_db


def _counts(page: str) -> dict[str, int]:
    return {label: int(value) for label, value in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", page)}


def _queue(study, clinician) -> list[StudyAssignment]:
    return list(StudyAssignment.objects.filter(item__study=study, clinician=clinician).order_by("sequence"))


def _all_tie(study) -> dict[str, str]:
    return {key: "tie" for key in study.criteria_set.criteria.values_list("key", flat=True)}


@pytest.fixture
def study_and_clinician(researcher):
    study, clinicians = make_study(researcher=researcher, n_clinicians=2, n_scenarios=3, n_questions=3)
    return study, clinicians[0]


def test_home_shows_the_comparison_queue_and_continue_leads_to_the_next_item(client, study_and_clinician):
    study, clinician = study_and_clinician
    first, second, third = _queue(study, clinician)
    study_rating_submit(assignment=first, clinician=clinician, ratings=_all_tie(study), complete=True)
    study_assignment_skip(assignment=second, clinician=clinician, reason="Outside my practice.")

    client.force_login(clinician)
    for url in ("/", reverse("clinician-home")):
        page = client.get(url).content.decode()
        assert _counts(page) == {"To do": 1, "Done": 1, "Skipped": 1}, url
        item = reverse("clinician-item", args=[third.token])
        assert f'<a class="button" href="{item}">Continue</a>' in page, url


def test_continue_goes_to_the_final_question_once_every_item_is_done_or_skipped(client, researcher):
    study, clinicians = make_study(
        researcher=researcher, n_clinicians=2, n_scenarios=2, n_questions=2, ask_blinding_guess=True
    )
    clinician = clinicians[0]
    first, *rest = _queue(study, clinician)
    study_rating_submit(assignment=first, clinician=clinician, ratings=_all_tie(study), complete=True)
    client.force_login(clinician)
    for assignment in rest:
        response = client.post(
            reverse("clinician-item-skip", args=[assignment.token]), {"reason": "Not my field."}
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("clinician-guesses", args=[study.token])
    summary = clinician_queue_summary(user=clinician)
    assert (summary.to_do, summary.next_item_token, summary.guess_study_token) == (0, None, study.token)
    guesses = reverse("clinician-guesses", args=[study.token])
    assert f'href="{guesses}">Continue to the final question</a>' in client.get("/").content.decode()
    assert "Save my answers" in client.get(guesses).content.decode()


def test_home_counts_open_studies_only_and_says_when_nothing_is_assigned(
    client, study_and_clinician, researcher
):
    study, clinician = study_and_clinician
    client.force_login(clinician)
    assert _counts(client.get("/").content.decode()) == {"To do": 3, "Done": 0, "Skipped": 0}
    clinician_study_close(study=study, actor=researcher)
    page = client.get("/").content.decode()
    assert "No comparisons are assigned to you yet" in page and ">Continue</a>" not in page


def test_skip_needs_a_reason_and_a_second_skip_changes_nothing(client, study_and_clinician):
    study, clinician = study_and_clinician
    first, second, _ = _queue(study, clinician)
    client.force_login(clinician)
    url = reverse("clinician-item-skip", args=[first.token])

    refused = client.post(url, {"reason": " "})
    page = refused.content.decode()
    assert refused.status_code == 400 and "data-error-summary" in page
    assert (
        '<a href="#skip-reason">Say why you are skipping this item.</a>' in page
        and 'id="skip-reason"' in page
    )
    first.refresh_from_db()
    assert not first.is_skipped

    for reason in ("The scenario involves a minor.", "clicked again"):
        response = client.post(url, {"reason": reason})
        assert response.status_code == 302 and response["Location"] == reverse(
            "clinician-item", args=[second.token]
        )
    first.refresh_from_db()
    assert first.is_skipped and first.skip_reason == "The scenario involves a minor."
    assert study_assignment_skip(assignment=first, clinician=clinician, reason="again") is False


def test_skip_refuses_other_clinicians_submitted_items_and_closed_studies(client, researcher):
    study, clinicians = make_study(researcher=researcher, n_clinicians=2, n_scenarios=3, n_questions=3)
    own, other = _queue(study, clinicians[0])[0], _queue(study, clinicians[1])[0]
    client.force_login(clinicians[0])
    assert client.post(reverse("clinician-item-skip", args=[other.token]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("clinician-item-skip", args=["x" * 24]), {"reason": "x"}).status_code == 404
    assert client.get(reverse("clinician-item-skip", args=[own.token])).status_code == 405

    study_rating_submit(assignment=own, clinician=clinicians[0], ratings=_all_tie(study), complete=True)
    with pytest.raises(StudyClosed, match="You submitted this item"):
        study_assignment_skip(assignment=own, clinician=clinicians[0], reason="late")
    response = client.post(reverse("clinician-item-skip", args=[own.token]), {"reason": "late"})
    assert response.status_code == 409 and "You submitted this item" in response.content.decode()

    with pytest.raises(RatingInvalid):
        study_assignment_skip(assignment=_queue(study, clinicians[0])[1], clinician=clinicians[0], reason="")
    clinician_study_close(study=study, actor=researcher)
    with pytest.raises(StudyClosed):
        study_assignment_skip(assignment=_queue(study, clinicians[0])[1], clinician=clinicians[0], reason="x")
    assert not StudyAssignment.objects.filter(skipped_at__isnull=False).exists()


def test_a_skipped_item_stays_out_of_the_statistics_until_it_is_submitted(study_and_clinician):
    study, clinician = study_and_clinician
    first = _queue(study, clinician)[0]
    study_rating_submit(assignment=first, clinician=clinician, ratings={"empathy": "A"}, complete=False)
    study_assignment_skip(assignment=first, clinician=clinician, reason="Unsure.")
    assert study_rating_records(study=study)[0] == []

    study_rating_submit(assignment=first, clinician=clinician, ratings=_all_tie(study), complete=True)
    first.refresh_from_db()
    assert first.is_submitted and not first.is_skipped and first.skip_reason == ""
    assert len(study_rating_records(study=study)[0]) == len(_all_tie(study))


def test_incomplete_comparison_shows_an_error_summary_linking_each_missing_criterion(
    client, study_and_clinician
):
    study, clinician = study_and_clinician
    first = _queue(study, clinician)[0]
    criteria = list(study.criteria_set.criteria.all())
    client.force_login(clinician)
    response = client.post(
        reverse("clinician-item", args=[first.token]), {f"choice-{criteria[0].key}": "A", "action": "submit"}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "data-error-summary" in page
    assert f"There are {len(criteria) - 1} problems" in page
    for criterion in criteria[1:]:
        assert (
            f'<a href="#choice-{criterion.key}-A">{escape(criterion.name)}: Choose A, B or tie.</a>' in page
        )
        assert f'id="choice-{criterion.key}-A"' in page
    assert f"#choice-{criteria[0].key}-A" not in page
    assert f'name="choice-{criteria[0].key}" value="A" checked' in page
