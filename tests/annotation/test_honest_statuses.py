"""Judge jobs end as what they produced: succeeded, partially succeeded (counts shown, valid judgements
usable) or failed (with counts); a snapshot without pairs is never frozen, and one with a criterion without
pairs says so."""

import json

import pytest
from django.urls import reverse

from annotation.selectors.rankings import preference_pairs
from annotation.services.judging import judge_job_create
from annotation.services.snapshots import SnapshotError, snapshot_freeze, snapshot_spec_build
from core.models import Job, Status
from core.services import job_create, job_run
from judges.endpoint import JudgeEndpoint
from judges.outcome import JudgingTally
from tests.evaluation.helpers import ChatServer, refused_url
from tests.preference_data import personas_named, stored_judge_job
from tests.workers import celery_worker, wait_for

pytestmark = pytest.mark.django_db

VALID = json.dumps({"rankings": {"empathy": [1, 2, 3, 4, 5], "safety": [5, 4, 3, 2, 1]}})


@pytest.fixture
def researcher_client(client, researcher):
    client.force_login(researcher)
    return client


def ranking_judge(payload: dict) -> str:
    """Valid rankings, except for a persona whose text says 'broken': it answers prose."""
    return "I cannot rank these." if "broken" in payload["messages"][1]["content"] else VALID


def judge_job_for(*, response_set, criteria_set, personas, researcher, base_url, capture):
    with capture(execute=False):
        return judge_job_create(
            name="Honest judges",
            response_set=response_set,
            criteria_set=criteria_set,
            personas=personas,
            created_by=researcher,
            endpoint=JudgeEndpoint(base_url=base_url, model="m", max_retries=0, backoff_base_s=0.0),
        )


@pytest.mark.parametrize(
    ("valid", "failed", "verdict"),
    [(10, 0, "succeeded"), (9, 1, "partial"), (8, 2, "failed"), (0, 6, "failed"), (0, 0, "failed")],
)
def test_the_failed_share_decides_how_judging_ends(valid, failed, verdict):
    assert JudgingTally(valid=valid, failed=failed, threshold=0.1).verdict == verdict


def test_a_judge_job_whose_endpoint_refuses_every_request_fails_with_counts(
    response_set, mini_criteria, researcher, researcher_client, django_capture_on_commit_callbacks
):
    judge_job = judge_job_for(
        response_set=response_set,
        criteria_set=mini_criteria,
        personas=personas_named("a", "b"),
        researcher=researcher,
        base_url=refused_url(),
        capture=django_capture_on_commit_callbacks,
    )
    job_run(job_id=judge_job.job.pk)
    job = Job.objects.get(pk=judge_job.job.pk)
    assert job.status == Status.FAILED
    assert job.error == "All 8 judgements failed; there is nothing to use."
    assert (job.result["valid"], job.result["failed"]) == (0, 8)
    assert job.result["failures_by_kind"] == {"transport_error": 8}
    page = researcher_client.get(reverse("annotation-judge-job", args=[judge_job.pk])).content.decode()
    assert "Failed</span>" in page and "All 8 judgements failed" in page and "Succeeded" not in page


def test_a_judge_job_with_failures_below_the_threshold_partially_succeeds_and_its_valid_judgements_count(
    settings, response_set, mini_criteria, researcher, researcher_client, django_capture_on_commit_callbacks
):
    settings.JUDGE_FAILURE_THRESHOLD = 0.25
    with ChatServer(ranking_judge) as server:
        judge_job = judge_job_for(
            response_set=response_set,
            criteria_set=mini_criteria,
            personas=personas_named("one", "two", "three", "broken"),
            researcher=researcher,
            base_url=server.base_url,
            capture=django_capture_on_commit_callbacks,
        )
        job_run(job_id=judge_job.job.pk)
    job = Job.objects.get(pk=judge_job.job.pk)
    assert job.status == Status.PARTIAL and job.get_status_display() == "Partially succeeded"
    assert job.error == ""
    assert job.result["summary"] == (
        "4 of 16 judgements failed (25%; at most 25% may fail); "
        "the 12 valid ones are used, failures never are."
    )
    # The valid judgements of a partial job feed aggregation: three judges on every pair.
    pairs = preference_pairs(response_set=response_set, criteria_set=mini_criteria, judge_jobs=[judge_job])
    assert pairs and all(pair.n_judges == 3 for pair in pairs)
    page = researcher_client.get(reverse("annotation-judge-job", args=[judge_job.pk])).content.decode()
    assert 'class="badge status-partial" data-job-status>Partially succeeded' in page
    assert "4 of 16 judgements failed" in page and "Snapshots use the valid judgements only" in page
    listing = researcher_client.get(reverse("annotation-home")).content.decode()
    assert "Partially succeeded" in listing


def test_a_judge_job_above_the_threshold_fails(
    settings, response_set, mini_criteria, researcher, django_capture_on_commit_callbacks
):
    settings.JUDGE_FAILURE_THRESHOLD = 0.2
    with ChatServer(ranking_judge) as server:
        judge_job = judge_job_for(
            response_set=response_set,
            criteria_set=mini_criteria,
            personas=personas_named("one", "two", "three", "broken"),
            researcher=researcher,
            base_url=server.base_url,
            capture=django_capture_on_commit_callbacks,
        )
        job_run(job_id=judge_job.job.pk)
    job = Job.objects.get(pk=judge_job.job.pk)
    assert job.status == Status.FAILED
    assert job.error.startswith("4 of 16 judgements failed (25%; at most 20% may fail)")


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.usefixtures("seeded_db")
def test_a_worker_process_fails_a_judge_job_whose_endpoint_refuses_everything(
    redis_url, postgres_only, response_set, researcher, tmp_path
):
    from config.celery import app
    from criteria.models import CriteriaSet

    app.conf.broker_url = redis_url
    criteria_set = CriteriaSet.objects.get(key="therapeutic", is_current=True)
    with celery_worker(
        app="config.celery", queue="default", broker_url=redis_url, log_path=tmp_path / "worker.log"
    ):
        judge_job = judge_job_create(
            name="Refused",
            response_set=response_set,
            criteria_set=criteria_set,
            personas=personas_named("a"),
            created_by=researcher,
            endpoint=JudgeEndpoint(base_url=refused_url(), model="m", max_retries=0),
        )
        ended = wait_for(lambda: Job.objects.get(pk=judge_job.job_id).is_terminal, timeout_s=60)
    job = Job.objects.get(pk=judge_job.job_id)
    assert ended, (tmp_path / "worker.log").read_text()
    assert job.status == Status.FAILED and job.error == "All 4 judgements failed; there is nothing to use."


def _spec(response_set, criteria_set, judge_job, **options):
    return snapshot_spec_build(
        response_set=response_set, criteria_set=criteria_set, judge_jobs=[judge_job], **options
    )


def test_sources_without_a_valid_ranking_are_refused_with_a_field_error(
    response_set, mini_criteria, researcher_client
):
    empty = stored_judge_job(response_set, mini_criteria, name="nothing judged")
    with pytest.raises(SnapshotError) as refused:
        _spec(response_set, mini_criteria, empty)
    assert "give no preference pair" in refused.value.field_errors["judge_jobs"][0]
    page = researcher_client.post(
        reverse("annotation-snapshot-new"),
        {
            "name": "empty",
            "response_set": response_set.pk,
            "criteria_set": mini_criteria.pk,
            "judge_jobs": [empty.pk],
            "split": "all",
            "pair_strategy": "best_worst",
            "min_margin": 0,
            "weights_source": "manual",
        },
    )
    assert page.status_code == 200 and "give no preference pair" in page.content.decode()
    assert not Job.objects.filter(kind="annotation.snapshot_freeze").exists()


def test_a_freeze_that_would_hold_no_pair_is_refused_and_its_job_fails_with_the_reason(
    judged, mini_criteria, response_set, researcher, django_capture_on_commit_callbacks
):
    judge_job, _ = judged
    # Valid rankings exist, but no score gap exceeds this margin: zero pairs.
    spec = _spec(response_set, mini_criteria, judge_job, min_margin=1000.0)
    with pytest.raises(SnapshotError, match="give no preference pair"):
        snapshot_freeze(name="empty", spec=spec, created_by=researcher)
    with django_capture_on_commit_callbacks(execute=False):
        job = job_create(
            kind="annotation.snapshot_freeze",
            params={"name": "empty", "spec": spec.configuration()},
            created_by=researcher,
        )
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error.startswith("These sources give no preference pair")


def test_the_snapshot_page_warns_of_a_criterion_without_training_pairs(
    judged, mini_criteria, response_set, researcher, researcher_client
):
    judge_job, question = judged
    snapshot, _ = snapshot_freeze(
        name="one-sided", spec=_spec(response_set, mini_criteria, judge_job), created_by=researcher
    )
    pairs = snapshot.manifest["counts"]["pairs"]
    assert pairs["safety"] == {"train": 0, "test": 0}  # the judges cancel out on safety
    assert sum(pairs["empathy"].values()) == 1
    page = researcher_client.get(reverse("annotation-snapshot", args=[snapshot.pk])).content.decode()
    assert "data-without-pairs" in page and "No training pairs for <code>safety</code>" in page
    warning = page.split("data-without-pairs", 1)[1].split("</div>", 1)[0]
    assert question.split == "train" and "<code>empathy</code>" not in warning
