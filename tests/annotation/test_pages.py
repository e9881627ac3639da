"""Researcher and annotator pages: empty states, import with its report, coverage and agreement, items,
judge jobs with progress and cancel, snapshot freeze, and the ranking form without JavaScript."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import JudgeJob, Judgement, JudgePersona, QuestionBank, RankingTask
from annotation.services.ranking import ranking_campaign_create
from core.models import Job, Status
from core.roles import Role
from core.services import job_run
from tests.preference_data import response_table, stored_judge_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(client, researcher):
    client.force_login(researcher)
    return client


def test_empty_annotation_home_says_what_to_do_first(browser_client):
    page = browser_client.get("/annotation/").content.decode()
    assert "No question bank yet" in page and "No snapshot yet" in page and "No judge job yet" in page


def test_only_researchers_reach_the_researcher_pages(client, annotator, response_set):
    client.force_login(annotator)
    for url in ["/annotation/", "/annotation/banks/import/", f"/annotation/response-sets/{response_set.pk}/"]:
        assert client.get(url).status_code == 403
    client.logout()
    assert client.get("/annotation/").status_code == 302


def test_import_form_shows_the_report_and_a_failed_import_explains_itself(browser_client):
    upload = SimpleUploadedFile("bank.jsonl", response_table())
    response = browser_client.post(
        "/annotation/banks/import/",
        {
            "name": "UI bank",
            "source": "response_table",
            "file": upload,
            "split_seed": "s",
            "min_chars": 10,
            "max_chars": 1000,
            "import_responses": "on",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Imported 4 questions" in page and "Import report" in page
    bank = QuestionBank.objects.get(name="UI bank")
    assert bank.response_sets.get().responses.count() == 20

    broken = SimpleUploadedFile("bad.csv", b"nothing,useful\n1,2\n")
    response = browser_client.post(
        "/annotation/banks/import/",
        {
            "name": "Broken",
            "source": "epitome",
            "file": broken,
            "split_seed": "s",
            "min_chars": 1,
            "max_chars": 10,
        },
    )
    assert response.status_code == 200
    assert "Nothing was imported: missing required column" in response.content.decode()
    assert not QuestionBank.objects.filter(name="Broken").exists()


def test_response_set_page_shows_coverage_agreement_and_items(browser_client, response_set, mini_criteria):
    page = browser_client.get(f"/annotation/response-sets/{response_set.pk}/").content.decode()
    assert "Nobody has ranked this response set yet" in page
    judge_job = stored_judge_job(response_set, mini_criteria, name="j")
    question = response_set.bank.questions.first()
    order = list(
        response_set.responses.filter(question=question).order_by("index").values_list("pk", flat=True)
    )
    for index, ranks in enumerate([[1, 2, 3, 4, 5], [1, 2, 3, 5, 4]]):
        persona = JudgePersona.objects.create(
            text=f"p{index}", text_sha256=str(index), origin="imported", source_id=str(index)
        )
        Judgement.objects.create(
            judge_job=judge_job,
            persona=persona,
            question=question,
            response_order=order,
            ok=True,
            ranks={"empathy": ranks, "safety": ranks},
        )
    page = browser_client.get(
        f"/annotation/response-sets/{response_set.pk}/?criteria_set=mini&source=judges"
    ).content.decode()
    assert "Krippendorff" in page and "1 / 4 (25%)" in page
    item = browser_client.get(
        f"/annotation/response-sets/{response_set.pk}/items/{question.pk}/?criteria_set=mini"
    )
    text = item.content.decode()
    assert item.status_code == 200 and "#1: 20" in text and "Persona judge rankings" in text


def test_personas_page_imports_pasted_text(browser_client):
    response = browser_client.post(
        "/annotation/personas/",
        {
            "content": "I am 30 and anxious.\n---\nI am 70 and grieving.",
            "file_format": "text",
            "default_split": "test",
        },
    )
    assert "2 new, 0 already present" in response.content.decode()
    assert set(JudgePersona.objects.values_list("split", flat=True)) == {"test"}


def test_judge_job_launch_progress_and_cancel(
    browser_client, response_set, mini_criteria, personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = browser_client.post(
            "/annotation/judge-jobs/new/",
            {
                "name": "UI judges",
                "response_set": response_set.pk,
                "criteria_set": mini_criteria.pk,
                "personas": [personas[0].pk],
                "split": "all",
                "base_url": "http://127.0.0.1:9/v1",
                "model": "m",
                "temperature": 0,
                "timeout_s": 1,
                "max_retries": 0,
                "max_concurrency": 1,
            },
        )
    judge_job = JudgeJob.objects.get(name="UI judges")
    assert response.status_code == 302 and response["Location"] == f"/annotation/judge-jobs/{judge_job.pk}/"
    page = browser_client.get(response["Location"]).content.decode()
    assert f'data-job-status-url="/api/jobs/{judge_job.job_id}/"' in page and "Cancel" in page
    browser_client.post(f"/annotation/judge-jobs/{judge_job.pk}/cancel/")
    assert Job.objects.get(pk=judge_job.job_id).status == Status.CANCELLED
    assert "Run again" in browser_client.get(response["Location"]).content.decode()


def test_snapshot_form_launches_a_freeze_job(
    browser_client, response_set, mini_criteria, judged, django_capture_on_commit_callbacks
):
    judge_job, _ = judged
    bad = browser_client.post(
        "/annotation/snapshots/new/",
        {
            "name": "s",
            "response_set": response_set.pk,
            "criteria_set": mini_criteria.pk,
            "judge_jobs": [judge_job.pk],
            "split": "all",
            "pair_strategy": "best_worst",
            "min_margin": 0,
            "weights_source": "manual",
            "objective_weights": "{not json",
        },
    )
    assert "Not valid JSON" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = browser_client.post(
            "/annotation/snapshots/new/",
            {
                "name": "UI snap",
                "response_set": response_set.pk,
                "criteria_set": mini_criteria.pk,
                "judge_jobs": [judge_job.pk],
                "split": "all",
                "pair_strategy": "best_worst",
                "min_margin": 0,
                "weights_source": "manual",
                "objective_weights": '{"empathy": 1}',
            },
        )
    assert response.status_code == 302
    job = Job.objects.get(kind="annotation.snapshot_freeze")
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    home = browser_client.get("/annotation/").content.decode()
    assert f"/annotation/snapshots/{job.result['snapshot_id']}/" in home
    detail = browser_client.get(f"/annotation/snapshots/{job.result['snapshot_id']}/").content.decode()
    assert job.result["content_hash"] in detail and "Download the archive" in detail


def test_annotator_ranks_without_javascript_and_resumes(
    client, response_set, mini_criteria, annotators, researcher
):
    campaign = ranking_campaign_create(
        name="No JS",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators[:1],
        annotators_per_item=1,
        created_by=researcher,
    )
    annotator = annotators[0]
    client.force_login(annotator)
    home = client.get("/annotate/").content.decode()
    first = campaign.tasks.order_by("id").first()
    assert "0 of 4 done" in home and f"/annotate/tasks/{first.pk}/" in home and "Start" in home

    form = {f"rank-empathy-{p}": str(p) for p in range(1, 6)} | {f"rank-safety-{p}": "1" for p in range(1, 6)}
    response = client.post(f"/annotate/tasks/{first.pk}/", form)
    assert (
        response.status_code == 400 and "Use each rank from 1 to 5 exactly once" in response.content.decode()
    )
    form |= {f"rank-safety-{p}": str(6 - p) for p in range(1, 6)}
    response = client.post(f"/annotate/tasks/{first.pk}/", form)
    second = campaign.tasks.order_by("id")[1]
    assert response.status_code == 302 and response["Location"] == f"/annotate/tasks/{second.pk}/"
    first.refresh_from_db()
    assert first.state == RankingTask.State.SUBMITTED and first.rankings.count() == 2

    response = client.post(
        f"/annotate/tasks/{second.pk}/skip/", {"reason": "Not comfortable", "flagged_harmful": "on"}
    )
    assert response.status_code == 302
    home = client.get("/annotate/").content.decode()
    assert "1 of 4 done, 1 skipped" in home and "Resume" in home
    other = ranking_campaign_create(
        name="Someone else",
        response_set=response_set,
        criteria_set=mini_criteria,
        annotators=annotators[1:2],
        annotators_per_item=1,
        created_by=researcher,
    )
    assert client.get(f"/annotate/tasks/{other.tasks.first().pk}/").status_code == 404


def test_every_page_renders_with_the_demo_data(browser_client, researcher):
    from django.core.management import call_command

    from annotation.models import DatasetSnapshot, RankingCampaign, ResponseSet
    from tests.factories import UserFactory

    UserFactory(username="demo-annotator", role=Role.ANNOTATOR)
    call_command("annotation_demo", stdout=io.StringIO())
    bank = QuestionBank.objects.get()
    response_set = ResponseSet.objects.get()
    question = bank.questions.first()
    campaign = RankingCampaign.objects.get()
    urls = [
        "/annotation/",
        "/annotation/banks/import/",
        f"/annotation/banks/{bank.pk}/",
        f"/annotation/response-sets/{response_set.pk}/",
        f"/annotation/response-sets/{response_set.pk}/?source=judges&split=test",
        f"/annotation/response-sets/{response_set.pk}/items/{question.pk}/",
        "/annotation/personas/",
        "/annotation/campaigns/new/",
        f"/annotation/campaigns/{campaign.pk}/",
        "/annotation/judge-jobs/new/",
        f"/annotation/judge-jobs/{JudgeJob.objects.get().pk}/",
        "/annotation/snapshots/new/",
        f"/annotation/snapshots/{DatasetSnapshot.objects.get().pk}/",
    ]
    for url in urls:
        response = browser_client.get(url)
        assert response.status_code == 200, url
    agreement = browser_client.get(
        f"/annotation/response-sets/{response_set.pk}/?source=judges"
    ).content.decode()
    assert "Krippendorff" in agreement and "20 / 20 (100%)" in agreement
