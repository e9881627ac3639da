"""Agreement tables are computed once per version of the rankings: at once when small, else in one job per
version whose result the pages read; a change of the rankings starts a new job and shows the old table as
stale meanwhile."""

import pytest

from annotation.models import Judgement, JudgePersona
from annotation.services import agreement
from annotation.services.agreement import AGREEMENT_JOB_KIND, AgreementScope, agreement_for, data_version
from annotation.services.ranking import ranking_campaign_create
from core.models import Job, Status
from core.services import job_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def scope(judged, response_set, mini_criteria):
    judge_job, _ = judged
    return AgreementScope.of(
        response_set=response_set, criteria_set=mini_criteria, judge_job_ids=[judge_job.pk], split="all"
    )


def _add_judgement(judge_job, question, ranks):
    persona = JudgePersona.objects.create(
        text="persona E", text_sha256="e" * 64, origin="imported", source_id="E"
    )
    order = list(question.responses.order_by("index").values_list("pk", flat=True))
    return Judgement.objects.create(
        judge_job=judge_job, persona=persona, question=question, response_order=order, ok=True, ranks=ranks
    )


def test_small_scope_is_computed_at_once_and_once_per_version(judged, scope, researcher, monkeypatch):
    computed = []
    compute = agreement.agreement_compute
    monkeypatch.setattr(agreement, "agreement_compute", lambda s: computed.append(s) or compute(s))
    report = agreement_for(scope=scope, actor=researcher)
    assert report.state == "ready" and report.job is None and report.rankings == 3
    empathy = next(row for row in report.rows if row.criterion == "empathy")
    assert empathy.mean_kendall_w == pytest.approx(0.8444, abs=1e-4)
    assert not Job.objects.filter(kind=AGREEMENT_JOB_KIND).exists()
    assert agreement_for(scope=scope, actor=researcher).rows == report.rows and len(computed) == 1
    judge_job, question = judged
    _add_judgement(judge_job, question, {"empathy": [5, 4, 3, 2, 1]})
    changed = agreement_for(scope=scope, actor=researcher)
    assert len(computed) == 2 and changed.rows != report.rows


def test_large_scope_is_computed_once_in_a_job_and_read_from_it(
    scope, researcher, settings, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_INLINE_MAX_RANKINGS = 0
    with django_capture_on_commit_callbacks(execute=False):
        first = agreement_for(scope=scope, actor=researcher)
        again = agreement_for(scope=scope, actor=researcher)
    assert (first.state, first.rows, first.stale) == ("computing", [], False)
    assert again.job.pk == first.job.pk  # the same data: the same job, not a second one
    job_run(job_id=first.job.pk)
    ready = agreement_for(scope=scope, actor=researcher)
    assert ready.state == "ready" and ready.job.pk == first.job.pk
    settings.AGREEMENT_INLINE_MAX_RANKINGS = 10_000
    assert ready.rows == agreement_for(scope=scope, actor=researcher).rows  # the job computed the same table
    assert Job.objects.filter(kind=AGREEMENT_JOB_KIND).count() == 1


def test_new_rankings_start_a_new_job_and_show_the_old_table_as_stale(
    judged, scope, researcher, settings, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_INLINE_MAX_RANKINGS = 0
    judge_job, question = judged
    with django_capture_on_commit_callbacks(execute=False):
        first = agreement_for(scope=scope, actor=researcher)
    job_run(job_id=first.job.pk)
    before = agreement_for(scope=scope, actor=researcher)
    version_before, _ = data_version(scope)
    _add_judgement(judge_job, question, {"empathy": [5, 4, 3, 2, 1], "safety": [1, 2, 3, 4, 5]})
    version_after, size = data_version(scope)
    assert version_after != version_before and size == 4
    with django_capture_on_commit_callbacks(execute=False):
        second = agreement_for(scope=scope, actor=researcher)
    assert second.state == "computing" and second.stale and second.job.pk != first.job.pk
    assert second.rows == before.rows  # the last table, until the new one is ready
    job_run(job_id=second.job.pk)
    fresh = agreement_for(scope=scope, actor=researcher)
    assert fresh.state == "ready" and not fresh.stale
    rankings = {row.criterion: row.rankings for row in fresh.rows}
    assert rankings == {"empathy": 4, "safety": 3} and {r.criterion: r.rankings for r in before.rows} == {
        "empathy": 3,
        "safety": 2,
    }


def test_a_failed_computation_is_shown_as_failed(
    scope, researcher, settings, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_INLINE_MAX_RANKINGS = 0
    with django_capture_on_commit_callbacks(execute=False):
        report = agreement_for(scope=scope, actor=researcher)
    Job.objects.filter(pk=report.job.pk).update(status=Status.FAILED, error="worker lost")
    failed = agreement_for(scope=scope, actor=researcher)
    assert failed.state == "failed" and failed.job.pk == report.job.pk


def test_response_set_page_reads_the_job_and_says_it_is_computing(
    judged, response_set, mini_criteria, client, researcher, settings, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    settings.AGREEMENT_INLINE_MAX_RANKINGS = 0
    url = f"/annotation/response-sets/{response_set.pk}/?criteria_set=mini&source=judges"
    with django_capture_on_commit_callbacks(execute=False):
        page = client.get(url).content.decode()
    assert "Computing agreement over 3 rankings in the background" in page
    assert "data-job-reload" in page
    job = Job.objects.get(kind=AGREEMENT_JOB_KIND)
    job_run(job_id=job.pk)
    page = client.get(url).content.decode()
    assert "Computing agreement" not in page
    assert "0.844" in page  # mean Kendall's W of empathy, from the job's result


def test_campaign_agreement_api_answers_202_while_computing(
    researcher_api,
    response_set,
    mini_criteria,
    annotators,
    researcher,
    settings,
    django_capture_on_commit_callbacks,
):
    campaign = ranking_campaign_create(
        name="c",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators,
        annotators_per_item=2,
        created_by=researcher,
    )
    settings.AGREEMENT_INLINE_MAX_RANKINGS = -1
    with django_capture_on_commit_callbacks(execute=False):
        response = researcher_api.get(f"/api/annotation/campaigns/{campaign.pk}/agreement/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "computing" and body["job_url"] == f"/api/jobs/{body['job']}/"
    job_run(job_id=body["job"])
    response = researcher_api.get(f"/api/annotation/campaigns/{campaign.pk}/agreement/")
    assert response.status_code == 200
    assert {row["criterion"] for row in response.json()} == {"empathy", "safety"}
