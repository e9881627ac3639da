"""The demo's judge job and evaluation show how their judging ended, never "Not launched" beside results."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotation.models import JudgeJob
from core.models import Status
from evaluation.models import Evaluation

pytestmark = pytest.mark.django_db


def test_demo_pages_show_the_recorded_end_of_the_judging(client, researcher):
    call_command("annotation_demo")
    recorded = JudgeJob.objects.get().job_id
    call_command("annotation_demo")  # again: the recorded job stays the judge job's job
    call_command("evaluation_demo")
    client.force_login(researcher)
    judge_job = JudgeJob.objects.select_related("job").get()
    assert judge_job.job_id == recorded
    evaluation = Evaluation.objects.select_related("job").get()
    n_judgements = judge_job.judgements.filter(ok=True).count()
    n_comparisons = evaluation.comparisons.filter(ok=True).count()
    for job, total in ((judge_job.job, n_judgements), (evaluation.job, n_comparisons)):
        assert job.status == Status.SUCCEEDED and job.result["recorded_without_run"] is True
        assert (job.progress_done, job.progress_total, job.result["valid"]) == (total, total, total)
    pages = {
        "judge job": reverse("annotation-judge-job", args=[judge_job.pk]),
        "judge jobs": reverse("annotation-home"),
        "evaluation": reverse("evaluation-detail", args=[evaluation.pk]),
        "evaluations": reverse("evaluation-list"),
    }
    for name, url in pages.items():
        page = client.get(url).content.decode()
        assert "Not launched" not in page, name
        assert "badge status-succeeded" in page and "Succeeded</span>" in page, name
    detail = client.get(pages["judge job"]).content.decode()
    assert "data-recorded-without-run" in detail
