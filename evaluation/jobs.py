"""Background job of the evaluation app on the default queue: thin, fetch by id and call a service."""

from core.models import Job
from core.services import JobOutcome, JobProgress, job_handler
from evaluation.models import Evaluation
from evaluation.services.evaluations import EVALUATION_JOB_KIND, evaluation_run


@job_handler(EVALUATION_JOB_KIND)
def evaluation_execute(job: Job, progress: JobProgress) -> dict | JobOutcome:
    return evaluation_run(
        evaluation=Evaluation.objects.get(pk=job.params["evaluation_id"]),
        progress=progress,
        retry_failed=bool(job.params.get("retry_failed")),
    )
