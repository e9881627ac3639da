"""Test settings: DATABASE_URL selects PostgreSQL (CI); otherwise SQLite."""

from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Transactional tests end by emptying every table with TRUNCATE, which the audit log's trigger otherwise
# refuses (core migration 0003); tests of that refusal switch this off for their own transaction.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c core.allow_audit_truncate=on"  # noqa: F405
# Workers in tests beat often and count as gone soon, so recovery tests wait seconds, not minutes.
WORK_HEARTBEAT_INTERVAL_S = 1
WORK_STALE_AFTER_S = 8
