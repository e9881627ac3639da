"""Clinician studies: assignment with overlap and balance, blinding of everything a clinician receives,
the bad-input contract of rating submission, closing and audit-logged unblinding."""

from collections import Counter

import pytest
from django.urls import reverse

from core.models import AuditEvent
from evaluation.models import StudyAssignment, StudyRating
from evaluation.services.studies import StudyError, clinician_study_create
from tests.evaluation.helpers import make_bank, make_clinicians, make_study

pytestmark = pytest.mark.django_db

IDENTIFIERS = (
    "TrainedLabel",
    "BaseLabel",
    "trained responses",
    "base responses",
    "file:trained",
    "researchers only",
)
# "Alpha-Model" in full-width forms (U+FF01 onwards), which NFKC folds back to ASCII.
FULL_WIDTH_LABEL = "".join(chr(ord(char) + 0xFEE0) for char in "Alpha-Model")


def _client_for(client, user):
    client.force_login(user)
    return client


def _keys(study):
    return list(study.criteria_set.criteria.values_list("key", flat=True))


def test_assignment_overlaps_balances_load_and_positions(researcher):
    study, clinicians = make_study(
        researcher=researcher,
        n_clinicians=6,
        n_scenarios=40,
        n_questions=44,
        calibration_items=2,
        raters_per_item=2,
        seed=5,
    )
    assignments = list(StudyAssignment.objects.filter(item__study=study).select_related("item"))
    raters = Counter(a.item_id for a in assignments if not a.item.is_calibration)
    assert len(raters) == 40 and set(raters.values()) == {2}
    calibration = Counter(a.item_id for a in assignments if a.item.is_calibration)
    assert len(calibration) == 2 and set(calibration.values()) == {6}
    loads = Counter(a.clinician_id for a in assignments)
    assert max(loads.values()) - min(loads.values()) <= 1
    for clinician in clinicians:
        own = sorted((a for a in assignments if a.clinician_id == clinician.pk), key=lambda a: a.sequence)
        shown_a = Counter(a.model_in_position_a for a in own)
        assert abs(shown_a["A"] - shown_a["B"]) <= 1
        assert [a.item.is_calibration for a in own[:2]] == [True, True]  # calibration first
        assert [a.sequence for a in own] == list(range(1, len(own) + 1))
    tokens = (
        [a.token for a in assignments] + list(study.items.values_list("token", flat=True)) + [study.token]
    )
    assert len(set(tokens)) == len(tokens)
    assert all(len(token) >= 20 and not token.isdigit() for token in tokens)


def test_clinician_facing_texts_may_not_name_a_model(researcher):
    _, _, (a, b) = make_bank(models=["x1", "x2"], n_questions=3)
    from criteria.models import CriteriaSet

    with pytest.raises(StudyError) as error:
        clinician_study_create(
            name="n",
            criteria_set=CriteriaSet.objects.get(key="therapeutic_eval"),
            response_set_a=a,
            response_set_b=b,
            label_a="MODPO Survey",
            label_b="Base",
            clinicians=make_clinicians(2),
            created_by=researcher,
            n_scenarios=2,
            clinician_title="Rate MODPO Survey against the rest",
            instructions="Compare x1 responses",
        )
    assert set(error.value.field_errors) >= {"clinician_title", "instructions"}


def _create_titled(researcher, *, label_a, clinician_title, instructions=""):
    from criteria.models import CriteriaSet

    _, _, (a, b) = make_bank(models=["x1", "x2"], n_questions=3)
    return clinician_study_create(
        name="n",
        criteria_set=CriteriaSet.objects.get(key="therapeutic_eval"),
        response_set_a=a,
        response_set_b=b,
        label_a=label_a,
        label_b="Base",
        clinicians=make_clinicians(2),
        created_by=researcher,
        n_scenarios=2,
        clinician_title=clinician_title,
        instructions=instructions,
    )


@pytest.mark.parametrize(
    ("title", "instructions"),
    [
        ("Alpha Model study", ""),
        ("ALPHA_MODEL study", ""),
        ("About alpha.model", ""),
        (f"{FULL_WIDTH_LABEL} study", ""),
        ("Study", "Compare X1_Responses with the rest"),  # a response-set name, separators changed
        ("Study", "Read FILE/x1.CSV first"),  # a response-set source
    ],
)
def test_model_names_are_refused_whatever_their_case_and_separators(researcher, title, instructions):
    with pytest.raises(StudyError) as error:
        _create_titled(researcher, label_a="Alpha-Model", clinician_title=title, instructions=instructions)
    assert set(error.value.field_errors) == {"clinician_title" if instructions == "" else "instructions"}


@pytest.mark.parametrize(("title", "refused"), [("How GPTs answer", False), ("How a gpt answers", True)])
def test_model_names_match_whole_words_only(researcher, title, refused):
    if refused:
        with pytest.raises(StudyError):
            _create_titled(researcher, label_a="GPT", clinician_title=title)
    else:
        assert _create_titled(researcher, label_a="GPT", clinician_title=title).clinician_title == title


def test_item_api_is_blinded_and_shows_this_clinicians_order(researcher, client):
    study, clinicians = make_study(researcher=researcher)
    assignment = (
        StudyAssignment.objects.filter(clinician=clinicians[0]).select_related("item__response_a").first()
    )
    response = _client_for(client, clinicians[0]).get(reverse("api-clinician-item", args=[assignment.token]))
    assert response.status_code == 200
    body = response.content.decode()
    assert not any(identifier.lower() in body.lower() for identifier in IDENTIFIERS)
    data = response.json()
    trained_text = assignment.item.response_a.text
    assert (data["response_a"] == trained_text) == (assignment.model_in_position_a == "A")
    assert [c["key"] for c in data["criteria"]] == _keys(study)
    listing = client.get(reverse("api-clinician-own-studies")).json()
    own_items = StudyAssignment.objects.filter(clinician=clinicians[0]).count()
    assert listing == [
        {
            "token": study.token,
            "title": study.clinician_title,
            "is_open": True,
            "total": own_items,
            "done": 0,
            "skipped": 0,
            "to_do": own_items,
            "percent": 0,
            "next_token": StudyAssignment.objects.filter(clinician=clinicians[0])
            .order_by("sequence")[0]
            .token,
            "guess_pending": False,
        }
    ]


def test_rating_bad_input_contract(researcher, client):
    study, clinicians = make_study(researcher=researcher)
    own = StudyAssignment.objects.filter(clinician=clinicians[0]).first()
    other = StudyAssignment.objects.exclude(clinician=clinicians[0]).first()
    api = _client_for(client, clinicians[0])
    url = lambda a: reverse("api-clinician-item-ratings", args=[a.token])  # noqa: E731
    full = {key: "A" for key in _keys(study)}

    assert (
        api.post(url(other), {"ratings": full, "complete": True}, content_type="application/json").status_code
        == 403
    )
    assert api.get(reverse("clinician-item", args=[other.token])).status_code == 403
    assert api.get(reverse("api-clinician-item", args=["x" * 24])).status_code == 404
    bad_choice = api.post(url(own), {"ratings": {"empathy": "C"}}, content_type="application/json")
    assert bad_choice.status_code == 400
    bad_criterion = api.post(url(own), {"ratings": {"quantity": "A"}}, content_type="application/json")
    assert bad_criterion.status_code == 400 and "quantity" in bad_criterion.json()
    incomplete = api.post(
        url(own), {"ratings": {"empathy": "A"}, "complete": True}, content_type="application/json"
    )
    assert incomplete.status_code == 400
    assert not StudyRating.objects.exists()

    draft = api.post(
        url(own), {"ratings": {"empathy": "B"}, "comment": "hm"}, content_type="application/json"
    )
    assert draft.status_code == 200 and draft.json()["submitted"] is False
    done = api.post(
        url(own), {"ratings": full, "complete": True, "flagged_unsafe": True}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["submitted"] is True
    assert StudyRating.objects.filter(assignment=own).count() == len(full)
    assert StudyRating.objects.get(assignment=own, criterion_key="empathy").choice == "A"
    own.refresh_from_db()
    assert own.flagged_unsafe and own.comment == "hm"


def test_roles_are_enforced_and_results_need_close_then_audited_unblinding(researcher, client):
    study, clinicians = make_study(researcher=researcher)
    own = StudyAssignment.objects.filter(clinician=clinicians[0]).first()
    clinician_api = _client_for(client, clinicians[0])
    assert clinician_api.get(reverse("api-clinician-study-results", args=[study.pk])).status_code == 403
    assert clinician_api.get(reverse("study-detail", args=[study.pk])).status_code == 403
    researcher_api = _client_for(client, researcher)
    assert researcher_api.get(reverse("api-clinician-item", args=[own.token])).status_code == 403
    assert researcher_api.get(reverse("api-clinician-study-results", args=[study.pk])).status_code == 409
    assert researcher_api.get(reverse("study-results-json", args=[study.pk])).status_code == 404
    page = researcher_api.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "Agreement between clinicians" not in page and "Results stay hidden" in page

    premature = researcher_api.post(
        reverse("api-clinician-study-unblind", args=[study.pk]),
        {"confirm": True},
        content_type="application/json",
    )
    assert premature.status_code == 409
    assert researcher_api.post(reverse("api-clinician-study-close", args=[study.pk])).status_code == 200

    clinician_api = _client_for(client, clinicians[0])
    refused = clinician_api.post(
        reverse("api-clinician-item-ratings", args=[own.token]),
        {"ratings": {"empathy": "A"}},
        content_type="application/json",
    )
    assert refused.status_code == 409
    page = clinician_api.post(
        reverse("clinician-item", args=[own.token]), {"choice-empathy": "A", "action": "save"}
    )
    assert page.status_code == 409 and not StudyRating.objects.exists()

    researcher_api = _client_for(client, researcher)
    unblinded = researcher_api.post(
        reverse("api-clinician-study-unblind", args=[study.pk]),
        {"confirm": True},
        content_type="application/json",
    )
    assert unblinded.status_code == 200
    event = AuditEvent.objects.get(action="clinician_study.unblind")
    assert event.actor == researcher and event.object_id == str(study.pk)
    results = researcher_api.get(reverse("api-clinician-study-results", args=[study.pk]))
    assert results.status_code == 200 and results.json()["provenance"]["study"]["id"] == study.pk


def test_clinician_pages_save_a_draft_then_submit_and_move_on(researcher, client):
    study, clinicians = make_study(researcher=researcher)
    first, second = StudyAssignment.objects.filter(clinician=clinicians[0]).order_by("sequence")[:2]
    pages = _client_for(client, clinicians[0])
    home = pages.get(reverse("clinician-home"))
    assert home.status_code == 200 and reverse("clinician-item", args=[first.token]) in home.content.decode()
    draft = pages.post(
        reverse("clinician-item", args=[first.token]), {"choice-empathy": "B", "action": "save"}
    )
    assert draft.status_code == 302 and draft["Location"] == reverse("clinician-item", args=[first.token])
    page = pages.get(reverse("clinician-item", args=[first.token])).content.decode()
    assert 'value="B" checked' in page
    incomplete = pages.post(
        reverse("clinician-item", args=[first.token]), {"choice-empathy": "A", "action": "submit"}
    )
    assert incomplete.status_code == 400
    data = {f"choice-{key}": "tie" for key in _keys(study)} | {"action": "submit", "comment": "fine"}
    submitted = pages.post(reverse("clinician-item", args=[first.token]), data)
    assert submitted.status_code == 302 and submitted["Location"] == reverse(
        "clinician-item", args=[second.token]
    )
    first.refresh_from_db()
    assert first.is_submitted and first.comment == "fine"
