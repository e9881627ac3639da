"""Survey pages: `participant` (no account, session-bound) and `researcher` (role researcher)."""
