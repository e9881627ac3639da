"""Streamed export of a dataset snapshot directory: the ML contract layout plus richer formats.

Layout written under ``root`` (``training_worker/ml/snapshot.py`` reads the first two entries)::

    manifest.json                     snapshot_hash, criteria_set{key, version, criteria}, objective_weights,
                                      counts, split{seed, test_count, test_fraction, strata, train, test},
                                      configuration, provenance, code version, file hashes
    preferences/<criterion>.jsonl     one pair per line: prompt, chosen, rejected, split, question_id,
                                      criterion + metadata (response ids, origins, scores, agreement, raters)
    rankings.jsonl                    every valid ranking: one line per rater and question, all criteria
    questions.jsonl                   every question in scope with its candidate responses
    personas.jsonl                    the personas used (pseudonymous id, split, text fingerprint)
    parquet/<criterion>/{train,test}.parquet, parquet/rankings.parquet
    hf/<criterion>/                   a `datasets` DatasetDict (train, test) saved with save_to_disk
    README.md                         the dataset card (also hf/README.md)

One concern per module: :mod:`.spec` (what to export), :mod:`.streaming` (the JSONL records, in constant
memory), :mod:`.jsonl` (canonical JSON, hashed as written), :mod:`.pseudonyms` (keyed rater ids),
:mod:`.parquet`, :mod:`.hf_datasets`, :mod:`.manifest` (provenance and the content hash), :mod:`.card` (the
dataset card) and :mod:`.snapshot`, which writes a whole directory.

Only the light names are re-exported here; the writer (``annotation.exports.snapshot``) loads pyarrow, so
callers import it where they write, and the web process does not load pyarrow at start-up.
"""

from annotation.exports.card import dataset_card
from annotation.exports.spec import ExportSpec

__all__ = ["ExportSpec", "dataset_card"]
