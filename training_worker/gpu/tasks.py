"""The GPU task: claim a run, fetch its inputs, train, report progress, upload artifacts, post the result.

Redelivery after a crash (acks_late) re-runs this task: the run is claimed again (RUNNING -> RUNNING),
training resumes from the last checkpoint in the run's work directory (a run that already finished is not
trained again: its result is reused), progress events are keyed by step so repeats are stored once, and the
artifact uploads and result post are idempotent: artifacts are archived byte-for-byte reproducibly, so
re-posting one the web app already holds is a no-op rather than a conflict.
"""

import contextlib
import gzip
import logging
import tarfile
import threading
import traceback
from pathlib import Path
from typing import Any

import httpx

from config.env import env_str
from training_worker.gpu.app import app
from training_worker.gpu.client import RunBusy, RunEnded, WorkerApiClient, WorkerApiError

logger = logging.getLogger(__name__)


def worker_data_dir() -> Path:
    configured = env_str("WORKER_DATA_DIR")
    return Path(configured) if configured else Path.cwd() / "var" / "worker"


class ApiCallbacks:
    """Bridges the ML package's progress/cancel hooks to the worker API."""

    def __init__(self, client: WorkerApiClient) -> None:
        self.client = client
        self.cancelled = False

    def on_progress(self, step: int, total: int, metrics: dict[str, Any]) -> None:
        try:
            self.client.post_event(event_id=f"step-{step}", step=step, total_steps=total, metrics=metrics)
        except RunEnded:
            self.cancelled = True

    def should_cancel(self) -> bool:
        return self.cancelled


class RunHeartbeat:
    """A daemon thread posting heartbeats while the run is worked on (its own HTTP client), so the web app's
    reaper can tell a long step from a dead worker. A refusal (run ended, cancelled, taken back) sets the
    callbacks' cancel flag; a failed post is only logged (the next one may get through)."""

    def __init__(self, *, api_url: str, run_id: int, token: str, interval_s: float, callbacks: ApiCallbacks):
        self._client = WorkerApiClient(api_url=api_url, run_id=run_id, token=token, timeout_s=interval_s)
        self._interval_s = interval_s
        self._callbacks = callbacks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-run-{run_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._client.heartbeat()
            except RunEnded:
                self._callbacks.cancelled = True
                return
            except (httpx.TransportError, WorkerApiError) as error:
                logger.warning("Heartbeat not delivered: %s", error)

    def __enter__(self) -> "RunHeartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._client.close()


def _safe_extract(archive: Path, destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    return destination


def fetch_inputs(client: WorkerApiClient, spec: dict[str, Any], work_dir: Path) -> dict[str, Path]:
    """Download every input (verified by sha256); tar archives are unpacked next to them."""
    paths: dict[str, Path] = {}
    for item in spec["inputs"]:
        target = client.download_input(
            url=item["url"], sha256=item["sha256"], destination=work_dir / "inputs" / item["name"]
        )
        if tarfile.is_tarfile(target):
            target = _safe_extract(target, work_dir / "unpacked" / item["name"])
        paths[item["name"]] = target
    return paths


def _reproducible(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def archive_directory(directory: Path, archive: Path, name: str) -> Path:
    """tar.gz of `directory` whose bytes depend only on the files' names and contents (sorted entries, no
    times or owners), so the same artifact archived again is the same upload."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.add(directory, arcname=name, filter=_reproducible)
    return archive


def upload_artifacts(client: WorkerApiClient, artifacts: dict[str, str], work_dir: Path) -> None:
    for name, location in artifacts.items():
        path = Path(location)
        if path.is_dir():
            path = archive_directory(path, work_dir / "uploads" / f"{name}.tar.gz", name)
        client.upload_artifact(name=name, path=path)


@app.task(
    name="training_worker.gpu.train_run",
    bind=True,
    autoretry_for=(httpx.TransportError,),  # the web app was unreachable: safe, the run resumes
    retry_backoff=True,
    max_retries=8,
)
def train_run(self, run_id: int, api_url: str, token: str) -> None:
    with WorkerApiClient(api_url=api_url, run_id=run_id, token=token) as client:
        try:
            started = client.start()
        except RunEnded:
            logger.info("Run %s has already ended; nothing to do.", run_id)
            return
        except RunBusy as busy:
            # A duplicate or restored message while another worker is alive on the run: look again when it
            # would count as gone (then this delivery resumes the run), or find the run ended and stop.
            raise self.retry(countdown=busy.retry_after_s, max_retries=None) from None
        callbacks = ApiCallbacks(client)
        heartbeat = RunHeartbeat(
            api_url=api_url,
            run_id=run_id,
            token=token,
            interval_s=started["heartbeat_interval_s"],
            callbacks=callbacks,
        )
        with heartbeat:
            work_on_run(client=client, run_id=run_id, token=token, callbacks=callbacks)


def work_on_run(*, client: WorkerApiClient, run_id: int, token: str, callbacks: ApiCallbacks) -> None:
    """Fetch the inputs, train, upload the artifacts and post the result of a claimed run."""
    from training_worker.gpu.dispatch import run_method

    spec = client.spec()
    work_dir = worker_data_dir() / f"run-{run_id}"
    try:
        inputs = fetch_inputs(client, spec, work_dir)
        outcome = run_method(
            method=spec["method"],
            config=spec["config"],
            inputs=inputs,
            output_dir=work_dir / "output",
            callbacks=callbacks,
        )
        report = {key: value for key, value in outcome.items() if key not in ("artifacts", "status")}
        if callbacks.cancelled or outcome.get("status") == "cancelled":
            client.post_result(status="cancelled", metrics=report)
            return
        upload_artifacts(client, outcome.get("artifacts", {}), work_dir)
        code_version = str(outcome.get("lineage", {}).get("code_version", ""))
        client.post_result(status="succeeded", metrics=report, code_version=code_version)
    except RunEnded:
        logger.info("Run %s ended while working; stopping.", run_id)
    except httpx.TransportError:
        raise
    except Exception:
        error = traceback.format_exc().replace(token, "***")[-8000:]
        logger.error("Run %s failed:\n%s", run_id, error)
        with contextlib.suppress(RunEnded):
            client.post_result(status="failed", metrics={}, error=error)
