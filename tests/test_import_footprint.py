"""The web process and the default-queue worker start without the heavy scientific and ML libraries.

A fresh interpreter sets Django up, loads the URL configuration and imports every entry point of the
project's apps (jobs, Celery tasks, API and view modules); none of :data:`HEAVY` may be loaded by then.
They are imported inside the functions that use them, so only the requests and jobs that compute
statistics, draw figures or train models pay for them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEAVY = frozenset(
    {
        "torch",
        "transformers",
        "trl",
        "peft",
        "datasets",
        "pandas",
        "scipy",
        "sklearn",
        "statsmodels",
        "matplotlib",
        "pyarrow",
    }
)
# Run in the fresh interpreter. Entry points: every module of a project app with one of these names as
# a path component. The GPU worker's packages (gpu, ml) load torch by design and are not part of the web
# process; they are not even looked into, so their package __init__ modules are not imported either.
PROBE = """
import importlib, json, os, pkgutil, resource, sys

import django

django.setup()
import config.urls  # noqa: F401
from django.apps import apps

ENTRY_POINTS = {"jobs", "tasks", "api", "worker_api", "views", "urls"}
SKIPPED = {"gpu", "ml", "migrations", "management"}


def walk(path, prefix):
    for info in pkgutil.iter_modules([path]):
        if info.name in SKIPPED:
            continue
        name = prefix + info.name
        yield name
        if info.ispkg:
            yield from walk(os.path.join(path, info.name), name + ".")


imported = []
for app in apps.get_app_configs():
    if os.path.dirname(app.path) != os.getcwd():
        continue
    for name in walk(app.path, app.name + "."):
        if ENTRY_POINTS & set(name.split(".")[1:]):
            importlib.import_module(name)
            imported.append(name)
# Peak RSS of this interpreter. ru_maxrss would also count the test runner's peak: Linux carries it
# over the fork and exec that start this process; VmHWM does not.
try:
    with open("/proc/self/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "imported": sorted(imported),
    "top_level": sorted({name.partition(".")[0] for name in sys.modules}),
    "peak_rss_kib": peak_kib,
}))
"""


def import_chain(importtime_log: str, module: str) -> str:
    """The chain that first imported ``module``, read from ``python -X importtime`` output.

    The log lists a module after everything it imported, indented one level deeper than its importer,
    so the importer is the next line with less indentation.
    """
    entries = []
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and "|" in line and "imported package" not in line:
            name = line.rsplit("|", 1)[1]
            entries.append((len(name) - len(name.lstrip()), name.strip()))
    for index, (depth, name) in enumerate(entries):
        if name == module:
            chain = [name]
            for outer_depth, outer_name in entries[index + 1 :]:
                if outer_depth < depth:
                    chain.append(outer_name)
                    depth = outer_depth
            return " <- ".join(chain)
    return f"{module} (import chain not found)"


def test_web_entry_points_do_not_load_heavy_libraries():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    # The probe found the entry points (the check cannot pass by importing nothing).
    assert {
        "annotation.jobs",
        "evaluation.jobs",
        "core.tasks",
        "evaluation.views.evaluations",
        "evaluation.api.clinician",
        "training_worker.worker_api",
    } <= set(report["imported"])
    print(f"peak RSS after start-up: {report['peak_rss_kib'] / 1024:.0f} MiB")

    loaded = HEAVY & set(report["top_level"])
    chains = "\n".join(import_chain(completed.stderr, module) for module in sorted(loaded))
    assert not loaded, f"loaded at start-up: {sorted(loaded)}\n{chains}"
