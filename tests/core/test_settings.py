"""Settings come from the environment; production refuses to start without its required variables."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.celery_config import (
    celery_settings,
    default_queue_visibility_timeout_s,
    gpu_queue_visibility_timeout_s,
)
from config.env import ConfigurationError, env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.prod",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-of-sufficient-length-0123456789",
    "ALLOWED_HOSTS": "research.example.org",
    "DATABASE_URL": "postgres://app@db.example.org:5432/app",
    "PSEUDONYM_KEY": "a-separate-key-for-keyed-pseudonyms-0123456789",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # The browser tests allow sync ORM calls beside Playwright's event loop; a deployment never does.
    clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "PSEUDONYM_KEY"])
def test_production_refuses_to_start_without(missing):
    env = {key: value for key, value in PROD_ENV.items() if key != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_check_deploy_is_clean():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_typed_env_helpers(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    monkeypatch.setenv("COUNT", "12")
    monkeypatch.setenv("HOSTS", "a.org, b.org,")
    assert env_bool("FLAG") is True and env_int("COUNT", 0) == 12 and env_list("HOSTS") == ["a.org", "b.org"]
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ConfigurationError):
        env_bool("FLAG")
    monkeypatch.setenv("COUNT", "twelve")
    with pytest.raises(ConfigurationError):
        env_int("COUNT", 0)


def test_broker_selection(monkeypatch, tmp_path):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    redis_conf = celery_settings(visibility_timeout_s=gpu_queue_visibility_timeout_s())
    assert redis_conf["broker_url"] == "redis://cache:6379/0"
    assert redis_conf["broker_transport_options"]["visibility_timeout"] >= 24 * 3600
    assert redis_conf["task_acks_late"] and redis_conf["task_reject_on_worker_lost"]
    assert redis_conf["worker_prefetch_multiplier"] == 1
    assert redis_conf["task_routes"] == {"training_worker.gpu.*": {"queue": "gpu"}}
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setenv("CELERY_FILESYSTEM_BROKER_DIR", str(tmp_path / "broker"))
    embedded = celery_settings(visibility_timeout_s=default_queue_visibility_timeout_s())
    assert embedded["broker_url"] == "filesystem://"
    assert (tmp_path / "broker" / "queue").is_dir()
    assert embedded["broker_transport_options"]["control_folder"] == str(tmp_path / "broker" / "control")


def test_each_tier_sizes_its_own_visibility_timeout(monkeypatch):
    """The default queue's jobs are recovered by the reaper, so its redelivery window is hours, not days;
    the GPU queue's outlasts the longest training run. Both can be set per deployment."""
    from config.celery import app as web_app
    from training_worker.gpu.app import app as gpu_app

    assert web_app.conf.broker_transport_options["visibility_timeout"] == 2 * 3600
    assert gpu_app.conf.broker_transport_options["visibility_timeout"] == 48 * 3600
    monkeypatch.setenv("DEFAULT_QUEUE_VISIBILITY_TIMEOUT_S", "900")
    monkeypatch.setenv("GPU_QUEUE_VISIBILITY_TIMEOUT_S", "7200")
    assert default_queue_visibility_timeout_s() == 900
    assert gpu_queue_visibility_timeout_s() == 7200


def test_gpu_worker_runs_without_django_installed():
    """The GPU tier's requirements have no Django: its modules must import with Django made unimportable."""
    code = (
        "import sys\n"
        "class NoDjango:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'django' or name.startswith('django.'):\n"
        "            raise ImportError('django is not installed on GPU workers')\n"
        "sys.meta_path.insert(0, NoDjango())\n"
        "import training_worker.gpu.app, training_worker.gpu.client, training_worker.gpu.tasks\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
