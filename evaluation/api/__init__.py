"""API of the evaluation app: researchers' evaluations and studies, clinicians' blinded items."""
