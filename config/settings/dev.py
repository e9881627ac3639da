"""Embedded default: SQLite and the filesystem broker, no servers needed. Never for production."""

from config.env import env_bool
from config.settings.base import *  # noqa: F403
from config.settings.base import DATA_DIR

# On for development (Django's debug pages); the demo (scripts/demo.sh) sets DEBUG=false so that visitors see
# the styled error pages, static files still served by WhiteNoise from the source folders.
DEBUG = env_bool("DEBUG", True)
DATA_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
