"""Reads for annotation records, one module per area; the names other apps use are re-exported here."""

from annotation.selectors.campaigns import rankings_submitted_by
from annotation.selectors.snapshots import objective_weight_options, snapshots_for_training, snapshots_list

__all__ = [
    "objective_weight_options",
    "rankings_submitted_by",
    "snapshots_for_training",
    "snapshots_list",
]
