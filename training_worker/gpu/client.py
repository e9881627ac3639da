"""HTTP client for the worker API, authenticated by one run's bearer token."""

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx


class RunEnded(Exception):
    """The web app says this run has ended (cancelled, or finished elsewhere): stop working on it."""


class RunBusy(Exception):
    """Another worker holds the run and is alive; this delivery should ask again after `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"Run held by another worker; retry in {retry_after_s} s.")


class WorkerApiError(Exception):
    pass


class WorkerApiClient:
    def __init__(self, *, api_url: str, run_id: int, token: str, timeout_s: float = 60.0) -> None:
        self.run_id = run_id
        self._token = token
        self._http = httpx.Client(
            base_url=f"{api_url.rstrip('/')}/api/worker/runs/{run_id}/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "WorkerApiClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code == 409 and "retry-after" in response.headers:
            raise RunBusy(int(response.headers["retry-after"]))
        if response.status_code in (403, 409) and "ended" in response.text:
            raise RunEnded(response.json().get("detail", "Run ended."))
        if response.status_code == 401 and "revoked" in response.text:
            # The reaper took the run back from this worker (or it was cancelled): stop.
            raise RunEnded(response.json().get("detail", "Run token revoked."))
        if response.status_code >= 400:
            # Never echo the request (it carries the token); the body is the server's own message.
            raise WorkerApiError(
                f"{response.request.method} {response.url.path}: {response.status_code} {response.text[:500]}"
            )
        return response

    def start(self) -> dict[str, Any]:
        return self._check(self._http.post("start/")).json()

    def heartbeat(self) -> None:
        self._check(self._http.post("heartbeat/"))

    def spec(self) -> dict[str, Any]:
        return self._check(self._http.get("spec/")).json()

    def download_input(self, *, url: str, sha256: str, destination: Path) -> Path:
        """Stream one input to disk and verify its hash; a file already there with the right hash is kept."""
        if destination.exists() and _file_sha256(destination) == sha256:
            return destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_suffix(destination.suffix + ".part")
        digest = hashlib.sha256()
        with self._http.stream("GET", url) as response:
            self._check(response)
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes():
                    digest.update(chunk)
                    handle.write(chunk)
        if digest.hexdigest() != sha256:
            partial.unlink()
            raise WorkerApiError(f"Input {url} failed its sha256 check.")
        partial.replace(destination)
        return destination

    def post_event(
        self, *, step: int, total_steps: int, metrics: dict[str, Any], event_id: str | None = None
    ) -> dict[str, Any]:
        body = {
            "event_id": event_id or f"step-{step}-{uuid.uuid4().hex[:8]}",
            "step": step,
            "total_steps": total_steps,
            "metrics": metrics,
        }
        return self._check(self._http.post("events/", json=body)).json()

    def upload_artifact(self, *, name: str, path: Path) -> dict[str, Any]:
        sha256 = _file_sha256(path)
        with path.open("rb") as handle:
            response = self._http.post(
                "artifacts/", data={"name": name, "sha256": sha256}, files={"file": (path.name, handle)}
            )
        return self._check(response).json()

    def post_result(
        self, *, status: str, metrics: dict[str, Any], error: str = "", code_version: str = ""
    ) -> dict[str, Any]:
        body = {"status": status, "metrics": metrics, "error": error, "code_version": code_version}
        return self._check(self._http.post("result/", json=body)).json()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
