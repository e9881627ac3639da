"""Writes for the survey, by side: participants (entry to submission, resume, withdrawal), studies
(researcher settings, consent and instrument versions), derived (personas, objective weights), exports."""
