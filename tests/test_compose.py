"""docker-compose.yml agrees with the settings module (there is no Docker engine to run it here)."""

import re
from pathlib import Path

import yaml

from config.celery_config import DEFAULT_QUEUE, GPU_QUEUE

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def settings_variables() -> set[str]:
    """Every environment variable the settings and Celery configuration read."""
    sources = [*(ROOT / "config" / "settings").glob("*.py"), ROOT / "config" / "celery_config.py"]
    sources.append(ROOT / "training_worker" / "gpu" / "tasks.py")
    pattern = re.compile(r"env_(?:str|bool|int|list)\(\s*\"([A-Z_]+)\"")
    return {name for path in sources for name in pattern.findall(path.read_text())}


def test_all_services_are_present_with_healthchecks():
    assert set(SERVICES) == {"postgres", "redis", "web", "worker-default", "worker-gpu"}
    for name, service in SERVICES.items():
        assert "healthcheck" in service, name


def test_every_service_is_restarted_when_it_exits():
    """A worker can exit when its broker connection drops mid-task (docs/reliability.md); the restart
    policy brings it back, and beat inside the default worker with it."""
    services = COMPOSE["services"]
    assert {name: spec.get("restart") for name, spec in services.items()} == dict.fromkeys(
        services, "unless-stopped"
    )


def test_environment_names_are_ones_the_settings_read():
    known = settings_variables() | {"DJANGO_SETTINGS_MODULE", "HF_HOME"}
    for name in ("web", "worker-default", "worker-gpu"):
        unknown = set(SERVICES[name]["environment"]) - known
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"


def test_production_requirements_are_provided_to_the_web_tier():
    for name in ("web", "worker-default"):
        env = SERVICES[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.prod"
        for required in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
            assert env.get(required), f"{name} lacks {required}"


def test_gpu_worker_has_a_gpu_and_no_database_credentials():
    gpu = SERVICES["worker-gpu"]
    assert "DATABASE_URL" not in gpu["environment"] and "postgres" not in gpu.get("depends_on", {})
    assert gpu["build"]["args"]["REQUIREMENTS"] == "worker"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_worker_commands_name_real_apps_and_queues():
    default_cmd = SERVICES["worker-default"]["command"]
    gpu_cmd = SERVICES["worker-gpu"]["command"]
    assert default_cmd[default_cmd.index("-A") + 1] == "config.celery"
    assert default_cmd[default_cmd.index("-Q") + 1] == DEFAULT_QUEUE
    assert "-B" in default_cmd  # beat: the periodic republishing of work left unsent by a broker outage
    assert gpu_cmd[gpu_cmd.index("-A") + 1] == "training_worker.gpu.app"
    assert gpu_cmd[gpu_cmd.index("-Q") + 1] == GPU_QUEUE
    assert "--concurrency" in gpu_cmd and gpu_cmd[gpu_cmd.index("--concurrency") + 1] == "1"
    assert "gunicorn config.wsgi:application" in SERVICES["web"]["command"]


def test_artifacts_are_on_a_shared_volume():
    assert "artifacts" in COMPOSE["volumes"]
    artifact_root = SERVICES["web"]["environment"]["ARTIFACT_ROOT"]
    for name in ("web", "worker-default"):
        assert f"artifacts:{artifact_root}" in SERVICES[name]["volumes"]
