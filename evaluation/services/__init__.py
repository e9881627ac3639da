"""Writes for evaluations: head-to-head runs (evaluations, reward_judges) and clinician studies (studies)."""
