"""Criteria sets: the versioned, named qualities (empathy, safety, ...) that every other app rates."""
