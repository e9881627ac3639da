"""Reads for evaluations: head-to-head statistics and provenance, and clinician studies."""
