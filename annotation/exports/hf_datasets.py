"""The `datasets` copy of an export: ``hf/<criterion>/``, a DatasetDict (train, test) per criterion.

Built from the Parquet files (memory-mapped, not loaded), so it costs disk, not memory. `datasets` is
imported on use: it is heavy and only an export needs it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from annotation.exports.parquet import PAIR_SCHEMA, pair_parquet_path
from annotation.exports.spec import SPLITS


def write_datasets(root: Path, criteria: Sequence[str]) -> None:
    """A `datasets` DatasetDict (train, test) per criterion, built from the Parquet files (memory-mapped)."""
    import datasets

    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a background job has no terminal to draw them on
    try:
        with tempfile.TemporaryDirectory(prefix="snapshot-hf-cache-") as cache:
            for key in criteria:
                splits = {
                    split: _split_dataset(pair_parquet_path(root, key, split), cache) for split in SPLITS
                }
                # One shard per split, even an empty one (zero shards would not load back).
                datasets.DatasetDict(splits).save_to_disk(
                    str(root / "hf" / key), num_shards=dict.fromkeys(SPLITS, 1)
                )
    finally:
        if bars:
            datasets.enable_progress_bars()


def _split_dataset(path: Path, cache: str):
    """The Parquet file as a memory-mapped `datasets.Dataset` (an empty one keeps the schema)."""
    import datasets

    if pq.ParquetFile(path).metadata.num_rows == 0:
        features = datasets.Features.from_arrow_schema(PAIR_SCHEMA)
        return datasets.Dataset.from_dict({name: [] for name in PAIR_SCHEMA.names}, features=features)
    return datasets.Dataset.from_parquet(str(path), cache_dir=cache)
