"""The web image installs requirements/web.txt only: every third-party package the web code imports (at the
top of a module or inside a function) must be listed there, or a freeze or a statistics page fails in
production while the tests, which install everything, pass."""

import ast
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from scripts.lock_requirements import resolve

ROOT = Path(__file__).resolve().parents[1]
WEB_PACKAGES = (
    "annotation",
    "config",
    "core",
    "criteria",
    "demo",
    "evaluation",
    "judges",
    "people",
    "pipelines",
    "survey_app",
)
# The GPU tier's packages run in the worker image (requirements/worker.txt), never in the web process.
WORKER_ONLY = (ROOT / "training_worker" / "ml", ROOT / "training_worker" / "gpu", ROOT / "judges" / "local")
PROJECT = {*WEB_PACKAGES, "training_worker", "tests", "bench"}


def _web_modules() -> list[Path]:
    paths = [
        path for package in (*WEB_PACKAGES, "training_worker") for path in (ROOT / package).rglob("*.py")
    ]
    return sorted(
        path
        for path in paths
        if "migrations" not in path.parts and not any(path.is_relative_to(worker) for worker in WORKER_ONLY)
    )


def _imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _listed(requirements: Path) -> set[str]:
    listed = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = line.split("==")[0].split("[")[0].strip()
            listed.add(name.lower().replace("_", "-"))
    return listed


def test_web_requirements_cover_every_third_party_import_of_the_web_code():
    listed = _listed(ROOT / "requirements" / "web.txt")
    distributions = packages_distributions()
    missing: dict[str, set[str]] = {}
    for path in _web_modules():
        for name in _imported_top_levels(path) - PROJECT:
            if name in sys.stdlib_module_names or name == "__future__":
                continue
            provided_by = {dist.lower().replace("_", "-") for dist in distributions.get(name, [])}
            if not provided_by:
                pytest.fail(
                    f"{path.relative_to(ROOT)} imports {name!r}, which no installed distribution provides"
                )
            if not provided_by & listed:
                missing.setdefault(sorted(provided_by)[0], set()).add(str(path.relative_to(ROOT)))
    assert not missing, f"imported by web code but not in requirements/web.txt: {missing}"


def test_the_check_sees_what_the_web_code_imports():
    """Guards the check itself: it finds lazily imported packages and the worker-only ones stay out."""
    imported = set().union(*(_imported_top_levels(path) for path in _web_modules()))
    assert {"django", "rest_framework", "pyarrow", "datasets", "sklearn", "scipy", "matplotlib"} <= imported
    assert "trl" not in imported and "torch" not in imported


def test_images_leave_out_version_control_local_environments_and_data():
    """`COPY . .` in the Dockerfile would otherwise carry .git, .venv and var/ (SQLite, artifacts, broker)."""
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", ".env"} <= ignored


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            name, version = line.split("==")
            pins[name.split("[")[0].strip().lower().replace("_", "-")] = version.strip()
    return pins


@pytest.mark.parametrize("tier", ["web", "worker", "dev"])
def test_each_lock_pins_the_direct_requirements_at_their_versions(tier):
    lock = _pins(ROOT / "requirements" / f"{tier}.lock")
    sources = [ROOT / "requirements" / f"{tier}.txt"]
    if tier == "dev":
        sources += [ROOT / "requirements" / "web.txt", ROOT / "requirements" / "worker.txt"]
    direct = {name: version for source in sources for name, version in _pins(source).items()}
    assert {name: lock.get(name) for name in direct} == direct


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["web", "worker"])
def test_each_lock_is_exactly_what_its_requirements_resolve_to(tier):
    """A requirements change without a new lock fails here: pip, on a clean environment, would install
    something the lock does not pin (or the lock would constrain it away)."""
    resolved = {name.lower().replace("_", "-"): version for name, version in resolve(tier).items()}
    assert resolved == _pins(ROOT / "requirements" / f"{tier}.lock")
