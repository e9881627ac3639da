"""Reads for annotation records, one module per area; the names other apps use are re-exported here."""

from annotation.selectors.criteria import criteria_set_get, criteria_sets_current
from annotation.selectors.snapshots import objective_weight_options, snapshots_for_training, snapshots_list

__all__ = [
    "criteria_set_get",
    "criteria_sets_current",
    "objective_weight_options",
    "snapshots_for_training",
    "snapshots_list",
]
