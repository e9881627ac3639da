"""Parquet copies of an export: ``parquet/<criterion>/{train,test}.parquet``, ``parquet/rankings.parquet``.

Derived files, outside the content hash. Rows are buffered and appended in batches so memory stays
bounded whatever the export's size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_BATCH_ROWS = 5000

PAIR_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("split", pa.string()),
        ("question_id", pa.string()),
        ("criterion", pa.string()),
        ("chosen_response_id", pa.string()),
        ("rejected_response_id", pa.string()),
        ("chosen_origin", pa.string()),
        ("rejected_origin", pa.string()),
        ("chosen_score", pa.float64()),
        ("rejected_score", pa.float64()),
        ("score_difference", pa.float64()),
        ("judge_agreement", pa.float64()),
        ("n_raters", pa.int64()),
        ("raters", pa.list_(pa.string())),
        ("strategy", pa.string()),
    ]
)
RANKING_SCHEMA = pa.schema(
    [
        ("rater_id", pa.string()),
        ("rater_kind", pa.string()),
        ("source", pa.string()),
        ("question_id", pa.string()),
        ("split", pa.string()),
        ("criterion", pa.string()),
        ("response_ids", pa.list_(pa.string())),
        ("ranks", pa.list_(pa.int64())),
    ]
)


def pair_parquet_path(root: Path, criterion: str, split: str) -> Path:
    """Where the preference pairs of one criterion and split are written under the snapshot root."""
    return root / "parquet" / criterion / f"{split}.parquet"


class WriteQueue:
    """Runs writes in submission order on one background thread: Arrow encodes and compresses Parquet
    without holding the GIL, so the export's Python work goes on meanwhile. At most MAX_QUEUED writes
    wait (memory stays bounded); a failed write raises on a later submit or at `close`."""

    MAX_QUEUED = 8

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-parquet")
        self.queued: deque[Future[None]] = deque()

    def submit(self, write: Callable[..., None], *args: Any) -> None:
        self.queued.append(self.executor.submit(write, *args))
        while self.queued and (len(self.queued) > self.MAX_QUEUED or self.queued[0].done()):
            self.queued.popleft().result()

    def cancel(self) -> None:
        """Drop the writes not started yet and wait for the one running (nothing is raised)."""
        self.queued.clear()
        self.executor.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Wait for every write; raises the first failure."""
        try:
            while self.queued:
                self.queued.popleft().result()
        finally:
            self.executor.shutdown(wait=True, cancel_futures=True)


class ParquetBatches:
    """Rows appended to one Parquet file in row groups of PARQUET_BATCH_ROWS (the last one, or one ended
    by `flush`, shorter), written through a WriteQueue. Tables are buffered, never Python rows: building
    columns is what costs."""

    def __init__(self, path: Path, schema: pa.Schema, writes: WriteQueue) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.writes = writes
        self.writer = pq.ParquetWriter(str(path), schema)
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.add_table(pa.Table.from_pylist(rows, schema=self.schema))

    def add_table(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.pending_rows += table.num_rows
        if self.pending_rows >= PARQUET_BATCH_ROWS:
            table = self._take_pending()
            full = table.num_rows - table.num_rows % PARQUET_BATCH_ROWS
            for start in range(0, full, PARQUET_BATCH_ROWS):
                self.writes.submit(self.writer.write_table, table.slice(start, PARQUET_BATCH_ROWS))
            if full < table.num_rows:
                self.pending, self.pending_rows = [table.slice(full)], table.num_rows - full

    def flush(self) -> None:
        """Write what is buffered as one row group."""
        if self.pending_rows:
            self.writes.submit(self.writer.write_table, self._take_pending())

    def _take_pending(self) -> pa.Table:
        table = pa.concat_tables(self.pending).combine_chunks()
        self.pending, self.pending_rows = [], 0
        return table

    def close(self) -> None:
        """Queue the last rows and the file's footer (the WriteQueue's close waits for them)."""
        self.flush()
        self.writes.submit(self.writer.close)
