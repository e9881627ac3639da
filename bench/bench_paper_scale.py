"""Every researcher page and API timed against the study's full data volume in PostgreSQL.

The bench creates a database of its own (default ``paper_scale_bench``) on the server DATABASE_URL names,
migrates it, seeds the study's scale (bench/paper_scale_seed.py: 2,979 questions x 5 responses, 148,950
persona judgements, a ranking campaign, a snapshot frozen by the real service, training runs, a 3-model
head-to-head evaluation and a clinician study), then times each page through the real URL stack (Django's
test Client logged in as a researcher, DEBUG off) in a fresh child process, so the reported RSS is that of a
web process serving the pages and nothing else. Each page: one warm-up request, then --repeat timed ones
(a warm-up slower than --slow-after seconds is timed once and marked); p50, p95 and the query count are
printed, and any response other than 200 is an error (exit status 1). The snapshot export's rows/s (persona
and annotator rankings exported per second, as bench_snapshot_export.py counts them) is measured while
seeding and remembered in the database, so --reuse reports it without re-seeding. The database is dropped at
the end unless --keep or --reuse is given. Figures are printed beside the goals, never asserted; the last
line is ``worst page p95: X.XX s``.

    DATABASE_URL=postgres://user@host:5432/any .venv/bin/python bench/bench_paper_scale.py
        [--scale 1.0] [--repeat 5] [--keep] [--reuse] [--only SUBSTRING] [--database paper_scale_bench]
        [--slow-after 20]

    # seed once and keep it, then re-time only the judge-job pages against the kept database:
    .venv/bin/python bench/bench_paper_scale.py --keep
    .venv/bin/python bench/bench_paper_scale.py --reuse --only "judge job"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_P95_S = 0.5
GOAL_RSS_MB = 300
GOAL_ROWS_PER_S = 30_000


def bench_database_url(url: str, name: str) -> str:
    """The server of `url` with the bench's own database name."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL server (postgres://user@host:port/db).")
    return urlunparse(parsed._replace(path=f"/{name}"))


def _server(url: str):
    """An autocommit connection to the server's maintenance database (to create and drop the bench's)."""
    import psycopg

    return psycopg.connect(urlunparse(urlparse(url)._replace(path="/postgres")), autocommit=True)


def database_exists(url: str, name: str) -> bool:
    with _server(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_create(url: str, name: str) -> None:
    from psycopg import sql

    with _server(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_drop(url: str, name: str) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with _server(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def vm_kib(field: str) -> int:
    """VmRSS / VmHWM of this process in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the study's scale")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page after one warm-up")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database at the end")
    parser.add_argument("--reuse", action="store_true", help="reuse a seeded database of this scale; keep it")
    parser.add_argument("--only", default="", help="time only pages whose name contains this")
    parser.add_argument("--database", default="paper_scale_bench", help="the bench's database name")
    parser.add_argument("--slow-after", type=float, default=20.0, help="a slower warm-up is timed only once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pages-into", default="", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.repeat < 1:
        parser.error("--scale must be > 0 and --repeat >= 1")
    return args


def prepare(args: argparse.Namespace, url: str) -> dict:
    """Seed the bench database (or reuse a complete seeding of the same scale); returns the seed figures."""
    import paper_scale_seed
    from django.core.management import call_command
    from django.db import DatabaseError

    if args.reuse and database_exists(url, args.database):
        try:
            figures = paper_scale_seed.seeded_figures()
        except DatabaseError:
            figures = None
        if figures and figures["scale"] == args.scale:
            # The code under test may have gained migrations (counters, indexes) since the seeding.
            call_command("migrate", verbosity=0)
            print(
                f"reusing database {args.database} (seeded at scale {args.scale:g}; migrated, not re-seeded)"
            )
            return {**figures, "reused": True}
        print(f"database {args.database} holds no complete seeding at scale {args.scale:g}: seeding it again")
    from django.db import connections

    connections.close_all()
    database_create(url, args.database)
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"database {args.database}: created and migrated in {time.perf_counter() - began:.1f} s")
    print(f"seeding scale {args.scale:g}:", flush=True)
    figures = paper_scale_seed.seed(scale=args.scale, seed=args.seed)
    print(
        f"seeded {figures['judgements']:,} judgements, {figures['comparisons']:,} comparisons, "
        f"{figures['campaign_tasks']:,} ranking tasks, {figures['runs']} runs in {figures['seconds']:.1f} s"
    )
    return figures


def run_pages_child(args: argparse.Namespace) -> dict:
    """Time the pages in a fresh interpreter (its RSS is a web process's); returns what it measured."""
    with tempfile.TemporaryDirectory(prefix="paper-scale-") as tmp:
        result_path = Path(tmp) / "pages.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--pages-into",
            str(result_path),
            "--repeat",
            str(args.repeat),
            "--only",
            args.only,
            "--slow-after",
            str(args.slow_after),
            "--database",
            args.database,
        ]
        sys.stdout.flush()
        completed = subprocess.run(command, env=os.environ, check=False)
        if not result_path.exists():
            return {"crashed": completed.returncode, "pages": [], "errors": 1}
        return json.loads(result_path.read_text())


def page_urls() -> list[tuple[str, str]]:
    """(name, URL) of every researcher page and API that lists or shows the seeded data."""
    from django.urls import reverse
    from paper_scale_seed import BANK_NAME

    from annotation.models import DatasetSnapshot, JudgeJob, QuestionBank, RankingCampaign
    from evaluation.models import ClinicianStudy, Evaluation
    from training_worker.models import TrainingRun

    bank = QuestionBank.objects.get(name=BANK_NAME)
    judge_job = JudgeJob.objects.select_related("response_set").get(response_set__bank=bank)
    response_set = judge_job.response_set
    campaign = RankingCampaign.objects.get(response_set=response_set)
    # An item ranked by annotators and judges alike: its page shows both.
    question_id = campaign.tasks.filter(state="submitted").order_by("question_id")[0].question_id
    snapshot = DatasetSnapshot.objects.get(response_set=response_set)
    runs = {run.name: run.pk for run in TrainingRun.objects.all()}
    evaluation = Evaluation.objects.get()
    study = ClinicianStudy.objects.get()
    middle = bank.questions.count() // 100 + 1
    rs, item = response_set.pk, {"pk": response_set.pk, "question_pk": question_id}
    compare = "&".join(f"ids={runs[name]}" for name in ("sft", "dpo-empathy", "modpo-survey"))
    pages = [
        ("annotation home", reverse("annotation-home")),
        ("bank detail", reverse("annotation-bank", args=[bank.pk])),
        (f"bank detail ?page={middle}", reverse("annotation-bank", args=[bank.pk]) + f"?page={middle}"),
        ("response set (all sources, all splits)", reverse("annotation-response-set", args=[rs])),
        ("response set (judges)", reverse("annotation-response-set", args=[rs]) + "?source=judges"),
        ("response set (annotators)", reverse("annotation-response-set", args=[rs]) + "?source=humans"),
        ("response set (train split)", reverse("annotation-response-set", args=[rs]) + "?split=train"),
        (
            "response set (judges, test split)",
            reverse("annotation-response-set", args=[rs]) + "?source=judges&split=test",
        ),
        (f"response set ?page={middle}", reverse("annotation-response-set", args=[rs]) + f"?page={middle}"),
        ("item detail", reverse("annotation-item", kwargs=item)),
        ("personas", reverse("annotation-personas")),
        ("personas ?page=2", reverse("annotation-personas") + "?page=2"),
        ("campaign detail", reverse("annotation-campaign", args=[campaign.pk])),
        ("campaign create form", reverse("annotation-campaign-new")),
        ("judge job detail", reverse("annotation-judge-job", args=[judge_job.pk])),
        ("judge job failures ?page=2", reverse("annotation-judge-job", args=[judge_job.pk]) + "?page=2"),
        ("judge job create form", reverse("annotation-judge-job-new")),
        ("snapshot create form", reverse("annotation-snapshot-new")),
        ("snapshot detail", reverse("annotation-snapshot", args=[snapshot.pk])),
        ("run list", reverse("run-list")),
        ("run list ?method=dpo", reverse("run-list") + "?method=dpo"),
        ("run detail", reverse("run-detail", args=[runs["modpo-survey"]])),
        ("run compare", reverse("run-compare") + f"?{compare}"),
        ("run launch form", reverse("run-launch")),
        ("model registry", reverse("base-model-list")),
        ("evaluation list", reverse("evaluation-list")),
        ("evaluation detail", reverse("evaluation-detail", args=[evaluation.pk])),
        ("evaluation detail ?pair=2", reverse("evaluation-detail", args=[evaluation.pk]) + "?pair=2"),
        ("evaluation create form", reverse("evaluation-new")),
        ("clinician study detail", reverse("study-detail", args=[study.pk])),
        ("clinician study create form", reverse("study-new")),
        ("survey study list", reverse("survey-study-list")),
        ("job detail", reverse("job-detail", args=[judge_job.job_id])),
        ("audit log", reverse("audit-log")),
        ("api question banks", reverse("api-question-banks")),
        ("api response sets", reverse("api-response-sets")),
        ("api item rankings", reverse("api-item-rankings", kwargs=item)),
        ("api personas", reverse("api-personas")),
        ("api campaigns", reverse("api-campaigns")),
        ("api campaign agreement", reverse("api-campaign-agreement", args=[campaign.pk])),
        ("api judge jobs", reverse("api-judge-jobs")),
        ("api judge job", reverse("api-judge-job", args=[judge_job.pk])),
        ("api snapshots", reverse("api-snapshots")),
        ("api snapshot", reverse("api-snapshot", args=[snapshot.pk])),
        ("api evaluations", reverse("api-evaluations")),
        ("api evaluation", reverse("api-evaluation", args=[evaluation.pk])),
        ("api runs", reverse("api-run-list")),
        ("api run", reverse("api-run-detail", args=[runs["modpo-survey"]])),
        ("api run events", reverse("api-run-events", args=[runs["modpo-survey"]])),
        ("api job", reverse("api-job-status", args=[judge_job.job_id])),
        ("api clinician studies", reverse("api-clinician-studies")),
        ("api clinician study", reverse("api-clinician-study", args=[study.pk])),
        ("api clinician study results", reverse("api-clinician-study-results", args=[study.pk])),
    ]
    return pages


def time_page(client, url: str, *, repeat: int, slow_after: float) -> dict:
    """One warm-up request, then `repeat` timed ones; stops at the first error. Times in seconds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    accept = "application/json" if url.startswith("/api/") else "text/html"
    samples: list[float] = []
    result = {"status": None, "queries": 0, "error": "", "slow": False}
    for attempt in range(1 + repeat):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            try:
                response = client.get(url, HTTP_ACCEPT=accept)
            except Exception as exc:  # a page that raises is reported; the others still run
                result["error"] = f"{type(exc).__name__}: {exc}"[:500]
                break
            elapsed = time.perf_counter() - began
        result.update(status=response.status_code, queries=len(queries.captured_queries))
        if response.status_code != 200:
            result["error"] = f"HTTP {response.status_code}"
            break
        if attempt == 0 and elapsed > slow_after:
            samples, result["slow"] = [elapsed], True
            break
        if attempt > 0:
            samples.append(elapsed)
    return {**result, "samples": samples}


def time_pages(*, repeat: int, only: str, slow_after: float) -> dict:
    """Log in as the researcher and time every matching page; prints one line per page."""
    import numpy as np
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    pages = [(name, url) for name, url in page_urls() if only.lower() in name.lower()]
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-researcher"))
    rss_before = vm_kib("VmRSS")
    debug = "on" if settings.DEBUG else "off"
    print(
        f"\ntiming {len(pages)} pages as a researcher (DEBUG {debug}): 1 warm-up + {repeat} requests each; "
        f"goal p95 <= {GOAL_P95_S} s"
    )
    # "peak MiB" is the process's RSS high-water mark after the page: a jump names the page that made it.
    print(f"{'page':<42} {'status':>6} {'p50 s':>8} {'p95 s':>8} {'queries':>8} {'n':>3} {'peak MiB':>9}")
    results, errors = [], 0
    for name, url in pages:
        timed = time_page(client, url, repeat=repeat, slow_after=slow_after)
        samples = timed.pop("samples")
        p50, p95 = (float(np.percentile(samples, q)) for q in (50, 95)) if samples else (None, None)
        results.append({"name": name, "url": url, "p50": p50, "p95": p95, **timed})
        if timed["error"]:
            errors += 1
            print(f"{name:<42} {timed['status'] or '-':>6}  ERROR {url}: {timed['error']}", flush=True)
            continue
        mark = " over goal" if p95 > GOAL_P95_S else ""
        if timed["slow"]:
            mark += f" (warm-up over {slow_after:g} s: timed once)"
        print(
            f"{name:<42} {timed['status']:>6} {p50:>8.2f} {p95:>8.2f} {timed['queries']:>8} "
            f"{len(samples):>3} {vm_kib('VmHWM') / 1024:>9.0f}{mark}",
            flush=True,
        )
    return {"pages": results, "errors": errors, "rss_before_kib": rss_before, "rss_peak_kib": vm_kib("VmHWM")}


def summary(figures: dict, pages: dict) -> list[str]:
    export = figures["export"]
    timed = [page for page in pages["pages"] if page["p95"] is not None]
    over = [page["name"] for page in timed if page["p95"] > GOAL_P95_S]
    worst = max((page["p95"] for page in timed), default=0.0)
    mib = 1024
    lines = []
    if "crashed" in pages:
        lines.append(f"ERROR: the page-timing process exited with status {pages['crashed']}")
    else:
        lines.append(
            f"web RSS: {pages['rss_before_kib'] / mib:.0f} MiB before pages, "
            f"{pages['rss_peak_kib'] / mib:.0f} MiB peak during pages (goal <= {GOAL_RSS_MB} MB)"
        )
    lines += [
        f"snapshot export at this scale: {export['rows']:,} rows ({export['pairs']:,} pairs) in "
        f"{export['seconds']:.1f} s = {export['rows_per_s']:,} rows/s (goal >= {GOAL_ROWS_PER_S:,} rows/s); "
        f"peak RSS +{export['rss_peak_delta_mib']:.0f} MiB, archive {export['archive_mib']:.1f} MiB"
        + (" (measured when the database was seeded)" if figures.get("reused") else ""),
        f"pages: {len(pages['pages'])} timed, {pages['errors']} errors, {len(over)} over the "
        f"{GOAL_P95_S} s p95 goal" + (f" ({', '.join(over)})" if over else ""),
        f"worst page p95: {worst:.2f} s",
    ]
    return lines


def main() -> int:
    args = parse_args()
    url = bench_database_url(os.environ.get("DATABASE_URL", ""), args.database)
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"
    # The test settings take the database from DATABASE_URL and DEBUG from the environment (dev forces it on).
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    if args.pages_into:
        result = time_pages(repeat=args.repeat, only=args.only, slow_after=args.slow_after)
        Path(args.pages_into).write_text(json.dumps(result))
        return 0
    figures = prepare(args, url)
    pages = run_pages_child(args)
    if args.keep or args.reuse:
        print(f"kept database {args.database} (time it again with --reuse --database {args.database})")
    else:
        from django.core.files.storage import default_storage

        from annotation.models import DatasetSnapshot

        for archive in DatasetSnapshot.objects.values_list("archive", flat=True):
            default_storage.delete(archive)
        database_drop(url, args.database)
        print(f"dropped database {args.database}")
    for line in summary(figures, pages):
        print(line)
    return 1 if pages["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
