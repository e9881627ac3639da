"""Processes and clients for bench_reliability.py: a Redis server it can stop and start, gunicorn, Celery
workers it can kill, an HTTP client that talks to the production settings, and a slow chat-completions server.

Every process listens on 127.0.0.1 on a free port and is stopped by the context manager that started it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECURE_ATTRIBUTE = re.compile(rb";\s*secure\b", re.IGNORECASE)


def percentile_ms(latencies_s: list[float], fraction: float) -> float:
    """The `fraction` quantile (nearest rank) of `latencies_s`, in milliseconds; 0 for no samples."""
    if not latencies_s:
        return 0.0
    ordered = sorted(latencies_s)
    return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


class RedisServer:
    """redis-server on `port`, append-only as in docker-compose.yml; the bench stops and starts it at will."""

    def __init__(self, *, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--appendonly", "yes", "--save", "", "--dir", str(self.folder)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not wait_until(self.answers, timeout_s=20):
            raise RuntimeError("redis-server did not start")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


@contextmanager
def redis_server(*, port: int, folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(port=port, folder=folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _stop(process: subprocess.Popen) -> None:
    """TERM the process group, then KILL what is left of it."""
    if process.poll() is None:
        with_group(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with_group(process.pid, signal.SIGKILL)
    process.wait()


def with_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, sig)


@contextmanager
def gunicorn(*, env: dict[str, str], port: int, workers: int, log_path: Path) -> Iterator[str]:
    """gunicorn serving config.wsgi with sync workers, as docker-compose.yml runs it; yields the base URL once
    the login page answers."""
    command = [str(Path(PYTHON).with_name("gunicorn")), "config.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "120"]
    command += ["--log-level", "warning"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/accounts/login/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        if not wait_until(up, timeout_s=60, interval_s=0.3):
            raise RuntimeError(f"gunicorn did not come up:\n{log_path.read_text(errors='replace')[-3000:]}")
        yield base
    finally:
        _stop(process)


class CeleryWorker:
    """`celery -A config.celery worker -Q default -B`: a main process, its pool children and embedded beat."""

    def __init__(self, *, env: dict[str, str], folder: Path, name: str, concurrency: int = 2) -> None:
        self.log_path = folder / f"{name}.log"
        command = [PYTHON, "-m", "celery", "-A", "config.celery", "worker", "-Q", "default", "-B"]
        command += ["-c", str(concurrency), "-n", f"{name}@bench", "-s", str(folder / f"{name}-beat")]
        command += ["--loglevel", "INFO"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_until(lambda: "ready." in self.log() or self.process.poll() is not None, timeout_s=90):
            raise RuntimeError(f"Celery worker did not start:\n{self.log()[-3000:]}")
        if self.process.poll() is not None:
            raise RuntimeError(f"Celery worker exited:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        return [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)]

    def kill_main(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        _stop(self.process)


@contextmanager
def celery_worker(*, env: dict[str, str], folder: Path, name: str) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(env=env, folder=folder, name=name)
    try:
        yield worker
    finally:
        worker.stop()


class _BehindTlsProxy(httpx.HTTPTransport):
    """Stands in for the TLS proxy in front of production: the client keeps the Secure cookies it is sent."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.headers = httpx.Headers(
            [
                (name, SECURE_ATTRIBUTE.sub(b"", value) if name.lower() == b"set-cookie" else value)
                for name, value in response.headers.raw
            ]
        )
        return response


def web_client(base: str) -> httpx.Client:
    """A browser-like client of gunicorn behind a TLS-terminating proxy (SECURE_PROXY_SSL_HEADER)."""
    host = base.removeprefix("http://")
    return httpx.Client(
        base_url=base,
        transport=_BehindTlsProxy(),
        headers={"X-Forwarded-Proto": "https", "Origin": f"https://{host}", "Referer": f"https://{host}/"},
        timeout=60,
        follow_redirects=False,
    )


def post_form(client: httpx.Client, url: str, data: dict) -> httpx.Response:
    """POST a form with the CSRF token from the cookie (fetching the page first when there is none)."""
    if "csrftoken" not in {cookie.name for cookie in client.cookies.jar}:
        client.get(url)
    token = next(cookie.value for cookie in client.cookies.jar if cookie.name == "csrftoken")
    return client.post(url, data=data, headers={"X-CSRFToken": token})


class SlowChatServer:
    """A chat-completions endpoint that takes `delay_s` per answer and ranks responses in shown order.

    Counts the requests per distinct prompt, so a prompt sent again (work done twice) shows up.
    """

    def __init__(self, *, delay_s: float, criteria_keys: list[str], k: int) -> None:
        self.prompts: dict[str, int] = {}
        self.lock = threading.Lock()
        answer = json.dumps({"rankings": {key: list(range(1, k + 1)) for key in criteria_keys}})
        body = json.dumps(
            {
                "id": "bench",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                digest = hashlib.sha256(json.dumps(payload.get("messages")).encode()).hexdigest()
                with server.lock:
                    server.prompts[digest] = server.prompts.get(digest, 0) + 1
                time.sleep(delay_s)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def repeated(self) -> int:
        with self.lock:
            return sum(count - 1 for count in self.prompts.values())

    @contextmanager
    def serving(self) -> Iterator[SlowChatServer]:
        thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
