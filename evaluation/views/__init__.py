"""Pages of the evaluation app: researchers' evaluations and studies, clinicians' blinded comparisons."""
