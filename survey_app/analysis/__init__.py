"""Pure computations over plain data (no database): personas, weights, small-cell suppression, charts."""
