"""Parquet copies of an export: ``parquet/<criterion>/{train,test}.parquet``, ``parquet/rankings.parquet``.

Derived files, outside the content hash. Rows are buffered and appended in batches so memory stays
bounded whatever the export's size.
"""

from __future__ import annotations

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


class ParquetBatches:
    """Rows appended to one Parquet file in row groups of PARQUET_BATCH_ROWS (the last one, or one ended
    by `flush`, shorter). Tables are buffered, never Python rows: building columns is what costs."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
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
                self.writer.write_table(table.slice(start, PARQUET_BATCH_ROWS))
            if full < table.num_rows:
                self.pending, self.pending_rows = [table.slice(full)], table.num_rows - full

    def flush(self) -> None:
        """Write what is buffered as one row group."""
        if self.pending_rows:
            self.writer.write_table(self._take_pending())

    def _take_pending(self) -> pa.Table:
        table = pa.concat_tables(self.pending).combine_chunks()
        self.pending, self.pending_rows = [], 0
        return table

    def close(self) -> None:
        self.flush()
        self.writer.close()
