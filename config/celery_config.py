"""Celery configuration shared by the web tier and the Django-free GPU worker.

Postgres (through the web app) is the source of truth for every job and run; messages carry ids
only. Both queues use late acknowledgement so a worker killed mid-task has its message redelivered,
and every task guards its status transition so a redelivery is a no-op or a resume. Workers send
heartbeats while they work; beat's reaper requeues work whose heartbeats stopped (a worker killed hard),
so recovery never waits for the broker's visibility timeout.
"""

from pathlib import Path

from config.env import env_int, env_str

DEFAULT_QUEUE = "default"
GPU_QUEUE = "gpu"
GPU_TASK_PREFIX = "training_worker.gpu."

BASE_DIR = Path(__file__).resolve().parent.parent


def broker_url() -> str:
    """CELERY_BROKER_URL, else REDIS_URL, else the embedded filesystem broker (no server needed)."""
    return env_str("CELERY_BROKER_URL") or env_str("REDIS_URL") or "filesystem://"


def filesystem_broker_dir() -> Path:
    data_dir = Path(env_str("DATA_DIR") or BASE_DIR / "var")
    return Path(env_str("CELERY_FILESYSTEM_BROKER_DIR") or data_dir / "broker")


def default_queue_visibility_timeout_s() -> int:
    """The web tier's: sized for its jobs (long judge jobs included: a message restored while its job still
    runs finds the job claimed by a live worker and waits, see core.services.job_run)."""
    return env_int("DEFAULT_QUEUE_VISIBILITY_TIMEOUT_S", 2 * 3600)


def gpu_queue_visibility_timeout_s() -> int:
    """The GPU tier's: longer than the longest training run."""
    return env_int("GPU_QUEUE_VISIBILITY_TIMEOUT_S", 48 * 3600)


def celery_settings(*, visibility_timeout_s: int) -> dict:
    """Settings of one tier's app. Redis keeps one set of unacknowledged messages for every queue, and each
    consumer restores those older than its own visibility timeout; a restored message of a run or job that is
    still running is harmless (its claim is refused while the holder's heartbeats are fresh)."""
    url = broker_url()
    transport_options: dict = {"visibility_timeout": visibility_timeout_s}
    if url.startswith("filesystem://"):
        folder = filesystem_broker_dir()
        for name in ("queue", "processed", "control"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        transport_options.update(
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            control_folder=str(
                folder / "control"
            ),  # else broadcasts write to a folder in the working directory
            store_processed=False,
        )
    return {
        "broker_url": url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": DEFAULT_QUEUE,
        "task_routes": {f"{GPU_TASK_PREFIX}*": {"queue": GPU_QUEUE}},
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "task_always_eager": False,
        # Work created while the broker was down stays QUEUED and unpublished; beat sends it again.
        "beat_schedule": {
            "republish-jobs": {
                "task": "core.jobs_republish",
                "schedule": env_int("JOB_REPUBLISH_INTERVAL_S", 60),
                "kwargs": {"older_than_s": env_int("JOB_REPUBLISH_AFTER_S", 60)},
                "options": {"queue": DEFAULT_QUEUE},
            },
            # Work whose worker stopped sending heartbeats (killed hard) goes back to the queue, or fails.
            "reap-stranded-work": {
                "task": "core.work_reap",
                "schedule": env_int("WORK_REAP_INTERVAL_S", 60),
                "options": {"queue": DEFAULT_QUEUE},
            },
            # Pipelines advance on run signals; this repairs a missed one (and sees evaluations finish).
            "reconcile-pipelines": {
                "task": "pipelines.reconcile",
                "schedule": env_int("PIPELINE_RECONCILE_INTERVAL_S", 30),
                "options": {"queue": DEFAULT_QUEUE},
            },
        },
    }
