"""Candidate responses from a policy: queue a "generate" run for a bank's questions, ingest its output."""
