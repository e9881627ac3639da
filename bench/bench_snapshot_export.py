"""Snapshot export at 10K, 119K and 149K persona evaluations: rows/s and peak memory, side by side.

A persona evaluation (an exported row) is one persona's ranking of one question's 5 responses on all 6
therapeutic criteria: the study's training questions give 2,379 x 50 personas = 118,950 and its whole bank
2,979 x 50 = 148,950. The script creates a throwaway test database (PostgreSQL when DATABASE_URL selects
it, else SQLite), fills it with seeded synthetic judgements for each size and ANALYZEs it (as autovacuum
would after such an import: without statistics the planner reads every judgement of the job for each
chunk of questions), then runs the export (annotation.exports: every JSONL, Parquet, the `datasets`
DatasetDicts, the manifest and the tar.gz archive) twice per size after one warm-up run: once timed, once
under tracemalloc. Peak memory is reported as tracemalloc's peak of Python allocations and as the peak
process RSS above the RSS before the export (sampled every 20 ms; includes Arrow's buffers). Flat memory
shows as similar peaks at every size. The goal line compares rows/s with GOAL_ROWS_PER_S. Not a test:
figures are printed, never asserted.

    DATABASE_URL=postgres://... .venv/bin/python bench/bench_snapshot_export.py [--sizes 10000 118950 148950]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

import psutil  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

PERSONAS = 50
K = 5
BATCH = 5000
GOAL_ROWS_PER_S = 30_000


def build(size: int, seed: int):
    """A bank of size/PERSONAS questions x K responses, PERSONAS personas, and one judgement per pair."""
    from annotation.models import (
        CandidateResponse,
        JudgeJob,
        Judgement,
        JudgePersona,
        Question,
        QuestionBank,
        ResponseSet,
    )
    from criteria.models import CriteriaSet

    rng = random.Random(seed)
    questions = max(1, size // PERSONAS)
    criteria_set = CriteriaSet.objects.get(key="therapeutic", is_current=True)
    criteria = criteria_set.criterion_keys
    bank = QuestionBank.objects.create(
        name=f"bench-{size}", source="table", import_settings={"split_seed": "b"}
    )
    Question.objects.bulk_create(
        (
            Question(
                bank=bank,
                external_id=f"q{i}",
                text=f"Synthetic help-seeking question {i}: " + "I have been feeling low and anxious. " * 6,
                text_sha256=f"{size}-{i}",
                split="test" if i % 5 == 0 else "train",
                position=i,
            )
            for i in range(questions)
        ),
        batch_size=BATCH,
    )
    response_set = ResponseSet.objects.create(bank=bank, name="bench", origin="imported", source="bench")
    question_ids = list(bank.questions.order_by("position").values_list("pk", flat=True))
    CandidateResponse.objects.bulk_create(
        (
            CandidateResponse(
                response_set=response_set,
                question_id=qid,
                external_id=f"{qid}:{j}",
                index=j,
                text=f"Candidate response {j} to question {qid}. " + "I hear how hard this is for you. " * 8,
                text_sha256=f"{qid}:{j}",
                origin="bench",
            )
            for qid in question_ids
            for j in range(K)
        ),
        batch_size=BATCH,
    )
    personas = JudgePersona.objects.bulk_create(
        JudgePersona(
            text=f"persona {size}-{p}", text_sha256=f"{size}-{p}", origin="imported", source_id=f"{size}-{p}"
        )
        for p in range(PERSONAS)
    )
    judge_job = JudgeJob.objects.create(
        name="bench",
        response_set=response_set,
        criteria_set=criteria_set,
        base_url="http://127.0.0.1:9/v1",
        model="bench",
        prompt_version="persona-rank-v1",
        prompt_template_sha256="0" * 64,
    )
    judge_job.personas.set(personas)
    orders = {
        qid: list(
            CandidateResponse.objects.filter(question_id=qid).order_by("index").values_list("pk", flat=True)
        )
        for qid in question_ids
    }

    def ranks() -> list[int]:
        values = list(range(1, K + 1))
        rng.shuffle(values)
        return values

    rows = (
        Judgement(
            judge_job=judge_job,
            persona=persona,
            question_id=qid,
            response_order=orders[qid],
            ok=True,
            ranks={key: ranks() for key in criteria},
            judge_settings={"model": "bench", "temperature": 0.0},
        )
        for qid in question_ids
        for persona in personas
    )
    Judgement.objects.bulk_create(rows, batch_size=BATCH)
    return response_set, criteria_set, judge_job, questions * PERSONAS


class RssPeak:
    """Samples the process RSS in a thread; `peak_above_start` in bytes."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def peak_above_start(self) -> int:
        return self.peak - self.start


def export_once(spec, *, trace: bool) -> dict:
    from annotation.exports.snapshot import export_snapshot_directory
    from annotation.services.snapshots import archive_directory

    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as workspace:
        root = Path(workspace) / "snapshot"
        root.mkdir()
        if trace:
            tracemalloc.start()
        began = time.perf_counter()
        with RssPeak() as rss:
            result = export_snapshot_directory(spec=spec, root=root, name="bench", created_at="bench")
            archive_directory(directory=root, target=Path(workspace) / "snapshot.tar.gz")
        seconds = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        return {
            "seconds": seconds,
            "tracemalloc_peak": peak,
            "rss_peak": rss.peak_above_start,
            "archive_bytes": (Path(workspace) / "snapshot.tar.gz").stat().st_size,
            "pairs": sum(v["train"] + v["test"] for v in result.manifest["counts"]["pairs"].values()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 118_950, 148_950])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from annotation.exports import ExportSpec

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    results = []
    try:
        for size in args.sizes:
            began = time.perf_counter()
            response_set, criteria_set, judge_job, evaluations = build(size, args.seed)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            print(f"built {evaluations} evaluations in {time.perf_counter() - began:.1f} s", flush=True)
            spec = ExportSpec(
                response_set_id=response_set.pk,
                criteria_set_id=criteria_set.pk,
                judge_job_ids=(judge_job.pk,),
            )
            if not results:
                export_once(spec, trace=False)  # warm-up: first use of datasets/pyarrow allocates caches
            timed = export_once(spec, trace=False)
            traced = export_once(spec, trace=True)
            results.append((evaluations, timed, traced))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    mib = 1024 * 1024
    print()
    header = ("evaluations", 12), ("pairs", 7), ("seconds", 8), ("rows/s", 8), ("py peak MiB", 12)
    print(" ".join(f"{name:>{width}}" for name, width in header), f"{'RSS peak MiB':>13} {'archive MiB':>12}")
    for evaluations, timed, traced in results:
        print(
            f"{evaluations:>12,} {timed['pairs']:>7,} {timed['seconds']:>8.1f} "
            f"{evaluations / timed['seconds']:>8,.0f} {traced['tracemalloc_peak'] / mib:>12.1f} "
            f"{timed['rss_peak'] / mib:>13.1f} {timed['archive_bytes'] / mib:>12.1f}"
        )
    if len(results) >= 2:
        (small, s_timed, s_traced), (large, l_timed, l_traced) = results[0], results[-1]
        ratio_time = l_timed["seconds"] / s_timed["seconds"]
        print(
            f"\n{large / small:.1f}x the evaluations: {ratio_time:.1f}x the time, "
            f"{l_traced['tracemalloc_peak'] / max(1, s_traced['tracemalloc_peak']):.2f}x the Python peak, "
            f"{l_timed['rss_peak'] / max(1, s_timed['rss_peak']):.2f}x the RSS peak"
        )
    verdicts = ", ".join(
        f"{evaluations:,} {'met' if evaluations / timed['seconds'] >= GOAL_ROWS_PER_S else 'NOT met'}"
        for evaluations, timed, _ in results
    )
    print(f"goal >= {GOAL_ROWS_PER_S:,} exported rows/s with flat memory (peaks above): {verdicts}")


if __name__ == "__main__":
    main()
