"""Embedded default: SQLite and the filesystem broker, no servers needed. Never for production."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATA_DIR

DEBUG = True
DATA_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
