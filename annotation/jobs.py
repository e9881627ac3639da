"""Background jobs of the annotation app on the default queue: thin, fetch by id and call a service."""

from annotation.models import JudgeJob
from annotation.services.agreement import AGREEMENT_JOB_KIND, agreement_job_run
from annotation.services.judging import JUDGE_JOB_KIND, judge_job_run
from annotation.services.snapshots import SNAPSHOT_FREEZE_KIND, snapshot_freeze_job_run
from core.models import Job
from core.services import JobOutcome, JobProgress, job_handler


@job_handler(JUDGE_JOB_KIND)
def judge(job: Job, progress: JobProgress) -> dict | JobOutcome:
    return judge_job_run(judge_job=JudgeJob.objects.get(pk=job.params["judge_job_id"]), progress=progress)


@job_handler(SNAPSHOT_FREEZE_KIND)
def snapshot_freeze_job(job: Job, progress: JobProgress) -> dict | JobOutcome:
    return snapshot_freeze_job_run(job=job, progress=progress)


@job_handler(AGREEMENT_JOB_KIND)
def agreement(job: Job, progress: JobProgress) -> dict | JobOutcome:
    return agreement_job_run(params=job.params, progress=progress)
