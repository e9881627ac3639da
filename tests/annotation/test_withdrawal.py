"""A participant's withdrawal reaches every copy of their data: their judge persona becomes a tombstone (no
text through the API, refused by new judge jobs), its judgements leave every snapshot frozen afterwards,
snapshots frozen before are flagged and named on the withdrawal's audit event, and weight sets that average
their ratings are stale."""

import pytest
from django.urls import reverse

from annotation.forms import JudgeJobForm
from annotation.models import Judgement, JudgePersona
from annotation.selectors.rankings import judge_rankings
from annotation.services import judging
from annotation.services.personas import judge_personas_from_survey
from annotation.services.snapshots import snapshot_freeze, snapshot_spec_build
from core.models import AuditEvent
from survey_app.models import ObjectiveWeightSet, Participant, Persona
from survey_app.services.derived import personas_build, personas_select, weight_sets_derive
from survey_app.services.participants import participant_withdraw, survey_submit
from survey_app.signals import WITHDRAW_ACTION, participant_withdrawn
from tests.preference_data import stored_judge_job
from tests.survey_app.factories import StudyFactory, answer_pages, completes, enrol

pytestmark = pytest.mark.django_db

ROTATIONS = [[1, 2, 3, 4, 5], [2, 1, 3, 4, 5], [1, 3, 2, 5, 4], [5, 4, 3, 2, 1]]


def _judge_all(judge_job, personas, response_set) -> None:
    """Store a valid judgement of every question by every persona (the endpoint is never called)."""
    for index, persona in enumerate(personas):
        judge_job.personas.add(persona)
        for question in response_set.bank.questions.all():
            _judgement(judge_job, persona, question, ROTATIONS[index % len(ROTATIONS)])


def _judgement(judge_job, persona, question, ranks) -> Judgement:
    order = list(
        question.responses.filter(response_set=judge_job.response_set)
        .order_by("index")
        .values_list("pk", flat=True)
    )
    return Judgement.objects.create(
        judge_job=judge_job,
        persona=persona,
        question=question,
        response_order=order,
        ok=True,
        ranks={"empathy": ranks, "safety": ranks[::-1]},
    )


def _freeze(name, response_set, criteria_set, judge_job, researcher):
    spec = snapshot_spec_build(response_set=response_set, criteria_set=criteria_set, judge_jobs=[judge_job])
    return snapshot_freeze(name=name, spec=spec, created_by=researcher)[0]


@pytest.fixture
def surveyed(researcher):
    """A study of six complete responses, personas selected and copied to judge personas; returns the study,
    the resume code of the participant who will withdraw, and their survey persona."""
    study = StudyFactory()
    enrolment = enrol(study)
    answer_pages(enrolment.participant, seed=7)
    survey_submit(participant=enrolment.participant)
    completes(study, 5)
    personas_build(study=study, actor=researcher)
    personas_select(study=study, actor=researcher, n=6, n_test=2, min_quality=0.0, seed=1)
    judge_personas_from_survey(study_id=study.pk, actor=researcher)
    leaving = Persona.objects.get(participant=enrolment.participant)
    return study, enrolment.resume_code, leaving


def test_withdrawal_reaches_the_judge_persona_copy_and_everything_built_on_it(
    surveyed,
    researcher,
    researcher_api,
    client,
    response_set,
    mini_criteria,
    django_capture_on_commit_callbacks,
):
    study, code, leaving = surveyed
    copy = JudgePersona.objects.get(origin="survey", source_id__startswith=f"{leaving.pk}:")
    private_text = copy.text
    assert private_text == leaving.text and len(private_text) > 40
    weight_sets = weight_sets_derive(
        study=study, actor=researcher, name="w", safety_floor=0.1, clusters=2, seed=1
    )
    judge_job = stored_judge_job(response_set, mini_criteria)
    survey_copies = list(JudgePersona.objects.filter(origin="survey").order_by("pk"))
    _judge_all(judge_job, survey_copies, response_set)
    questions = response_set.bank.questions.count()
    before = _freeze("before", response_set, mini_criteria, judge_job, researcher)
    assert before.manifest["counts"]["rankings"]["persona"] == len(survey_copies) * questions

    participant_withdraw(study=study, code=code)

    # The API lists the tombstone, never the participant's profile.
    listed = {row["id"]: row for row in researcher_api.get(reverse("api-personas")).json()["results"]}
    assert listed[copy.pk]["text"] == JudgePersona.WITHDRAWN_TEXT
    assert listed[copy.pk]["withdrawn_at"] is not None
    assert private_text not in researcher_api.get(reverse("api-personas")).content.decode()
    copy.refresh_from_db()
    assert copy.text_sha256 == "" and copy.source_id == f"{leaving.pk}:withdrawn-{copy.pk}"
    assert not Judgement.objects.filter(persona=copy).exists()
    assert Judgement.objects.filter(judge_job=judge_job).count() == (len(survey_copies) - 1) * questions

    # A new judge job cannot use it: a field error, through the API and the form.
    body = {
        "name": "after",
        "response_set": response_set.pk,
        "criteria_set": mini_criteria.key,
        "personas": [copy.pk, survey_copies[-1].pk if survey_copies[-1] != copy else survey_copies[0].pk],
        "base_url": "http://127.0.0.1:9/v1",
    }
    with django_capture_on_commit_callbacks(execute=False):
        refused = researcher_api.post(reverse("api-judge-jobs"), body, format="json")
    assert refused.status_code == 400 and "withdrawn" in refused.json()["personas"][0]
    assert copy not in JudgeJobForm().fields["personas"].queryset

    # A judgement a job already running stores afterwards is never read either.
    late = _judgement(judge_job, copy, response_set.bank.questions.first(), ROTATIONS[0])
    read = judge_rankings(question_ids=[late.question_id], judge_job_ids=[judge_job.pk])
    assert copy.pk not in {ranking.rater_id for ranking in read}

    after = _freeze("after", response_set, mini_criteria, judge_job, researcher)
    assert after.manifest["counts"]["rankings"]["persona"] == (len(survey_copies) - 1) * questions
    assert after.manifest["counts"]["personas"] == len(survey_copies) - 1

    # The earlier snapshot is named on the withdrawal's audit event and flagged on its page.
    event = AuditEvent.objects.get(action=WITHDRAW_ACTION)
    assert event.detail["snapshots"] == [before.pk]
    assert event.detail["judge_personas_withdrawn"] == [copy.pk]
    assert event.detail["judgements_deleted"] == questions
    client.force_login(researcher)
    flagged = client.get(reverse("annotation-snapshot", args=[before.pk])).content.decode()
    assert "contains data of a participant who withdrew on" in flagged.lower()
    assert "freeze a new snapshot" in flagged
    clean = client.get(reverse("annotation-snapshot", args=[after.pk])).content.decode()
    assert "withdrew" not in clean

    # Weight sets that average the participant's ratings are stale; the other cluster is not.
    stale = {
        row["id"]: row["stale"]
        for row in researcher_api.get(reverse("api-survey-weight-sets")).json()["results"]
    }
    population = next(w for w in weight_sets if w.scope == ObjectiveWeightSet.Scope.POPULATION)
    member = next(w for w in weight_sets if leaving.pk in w.derivation.get("persona_ids", []))
    others = [w for w in weight_sets if w not in (population, member)]
    assert stale[population.pk] and stale[member.pk]
    assert not any(stale[w.pk] for w in others)
    assert sorted(event.detail["weight_sets_stale"]) == sorted([population.pk, member.pk])
    page = client.get(reverse("survey-weights", args=[study.slug])).content.decode()
    assert page.count(">Stale</span>") == 2


def test_withdrawal_touches_only_that_participants_copies_and_happens_once(surveyed, researcher):
    """Other participants' copies are never touched; withdrawing again changes nothing."""
    study, code, leaving = surveyed
    untouched = list(
        JudgePersona.objects.exclude(source_id__startswith=f"{leaving.pk}:").values_list("pk", "text")
    )
    participant_withdraw(study=study, code=code)
    assert list(
        JudgePersona.objects.filter(withdrawn_at__isnull=True).order_by("pk").values_list("pk", "text")
    ) == sorted(untouched)
    assert participant_withdraw(study=study, code=code).status == "withdrawn"
    assert AuditEvent.objects.filter(action=WITHDRAW_ACTION).count() == 1


def test_a_failing_receiver_undoes_the_whole_withdrawal(surveyed):
    """The withdrawal and the removal of every copy commit together or not at all."""
    study, code, leaving = surveyed

    def broken(**_):
        raise RuntimeError("receiver down")

    participant_withdrawn.connect(broken, dispatch_uid="test.broken")
    try:
        with pytest.raises(RuntimeError):
            participant_withdraw(study=study, code=code)
    finally:
        participant_withdrawn.disconnect(dispatch_uid="test.broken")
    assert Persona.objects.filter(pk=leaving.pk).exists()
    assert Participant.objects.get(pk=leaving.participant_id).status == "completed"
    assert not JudgePersona.objects.filter(withdrawn_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action=WITHDRAW_ACTION).exists()


def test_a_running_job_stops_showing_a_persona_withdrawn_meanwhile(
    surveyed, monkeypatch, response_set, mini_criteria
):
    study, code, leaving = surveyed
    monkeypatch.setattr(judging, "QUESTION_CHUNK", 1)
    judge_job = stored_judge_job(response_set, mini_criteria)
    personas = list(JudgePersona.objects.filter(origin="survey").order_by("pk"))
    copy = next(p for p in personas if p.source_id.startswith(f"{leaving.pk}:"))
    question_ids = list(response_set.bank.questions.order_by("pk").values_list("pk", flat=True))
    items = judging._items(judge_job, question_ids, personas, set(), [], {})
    first_chunk = [next(items) for _ in personas]
    assert copy.text in {item.persona_text for item in first_chunk}

    participant_withdraw(study=study, code=code)

    later = list(items)
    assert len(later) == (len(question_ids) - 1) * (len(personas) - 1)
    assert not any(item.item_id.startswith(f"{copy.pk}:") for item in later)
