"""A job kind for recovery tests: it works through `units` units of `unit_s` seconds each, reporting progress.

Imported by the tests that use it and, through `celery worker --include tests.slow_job`, by their worker
processes, so a real worker can be killed in the middle of a job that takes seconds."""

import time

from core.models import Job
from core.services import JobProgress, job_handler

SLOW_JOB = "tests.slow_job"


@job_handler(SLOW_JOB)
def slow_job(job: Job, progress: JobProgress) -> dict:
    units = int(job.params["units"])
    progress.update(done=0, total=units)
    for unit in range(1, units + 1):
        time.sleep(float(job.params["unit_s"]))
        progress.update(done=unit)
    return {"units": units, "finished_by_attempt": job.attempts}
