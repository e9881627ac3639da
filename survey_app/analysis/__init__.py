"""Pure computations over plain data (no queries): personas, weights, the de-identification policy with its
small-cell suppression and data dictionary, charts."""
