"""Settings shared by every deployment; every value comes from the environment through config.env."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from config.env import env_bool, env_fraction, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "core",
    "criteria",
    "survey_app",
    "annotation",
    "evaluation",
    "training_worker",
    "people",
    "pipelines",
    "demo",
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "core.middleware.StaffNoStoreMiddleware",
    # Last: turns a sign-in refused by the lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE_S", 60),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE_S", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# ---- Security: sign-in throttling, rate limits, response headers ----
# Sign-in lockout (django-axes): after AXES_FAILURE_LIMIT failures for one (username, address) pair, that pair
# is refused for AXES_COOLOFF_TIME; a successful sign-in clears the count. The lockout backend comes first.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("AXES_COOLOFF_TIME_S", 15 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Successful sign-ins are already in the audit log.
AXES_DISABLE_ACCESS_LOG = True
# Failed sign-ins written to the audit log per client address per minute; the rest are counted (core.signals).
AUDIT_LOGIN_FAILURES_PER_MINUTE = env_int("AUDIT_LOGIN_FAILURES_PER_MINUTE", 10)
# Wrong resume or withdrawal codes per client address before further tries are refused (429) for the window.
SURVEY_CODE_ATTEMPTS_LIMIT = env_int("SURVEY_CODE_ATTEMPTS_LIMIT", 10)
SURVEY_CODE_ATTEMPTS_WINDOW_S = env_int("SURVEY_CODE_ATTEMPTS_WINDOW_S", 600)

# Django's cache holds the rate-limit counters (core.ratelimit) and cached analysis results. CACHE_URL, else
# REDIS_URL, selects Redis, one cache for every process (exact limits); without either, each process keeps its
# own memory (embedded demo). Keys carry CACHE_KEY_PREFIX, apart from the task queue's in a shared database.
CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cache"),
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Content-Security-Policy (django-csp): same-origin scripts, styles and images only, no inline script or
# style, never framed. The API documentation pages relax it for themselves (config.urls).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Browser features no page uses, switched off for every response (core.middleware).
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=()"
)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("ARTIFACT_ROOT", str(DATA_DIR / "artifacts")))
MEDIA_URL = "/media/"

# Request bodies: JSON over 2.5 MB is refused with 400; artifact uploads stream to disk up to this size.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
ARTIFACT_MAX_BYTES = env_int("ARTIFACT_MAX_BYTES", 20 * 1024**3)

# LLM persona judges: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama).
JUDGE_API_BASE_URL = env_str("JUDGE_API_BASE_URL", "http://127.0.0.1:11434/v1")
JUDGE_API_KEY = env_str("JUDGE_API_KEY", "")
JUDGE_MODEL = env_str("JUDGE_MODEL", "mistral")
JUDGE_MAX_CONCURRENCY = env_int("JUDGE_MAX_CONCURRENCY", 4)
JUDGE_REQUESTS_PER_MINUTE = env_int("JUDGE_REQUESTS_PER_MINUTE", 120)
# Agreement tables over at most this many rankings are computed during the request; larger ones in a job.
AGREEMENT_INLINE_MAX_RANKINGS = env_int("AGREEMENT_INLINE_MAX_RANKINGS", 20_000)
# The most a researcher may set per job (form and API): what the worker's threads and the endpoint can bear.
JUDGE_MAX_CONCURRENCY_LIMIT = env_int("JUDGE_MAX_CONCURRENCY_LIMIT", 64)
JUDGE_REQUESTS_PER_MINUTE_LIMIT = env_int("JUDGE_REQUESTS_PER_MINUTE_LIMIT", 10_000)
# A judge job or LLM-judged evaluation whose failed share of answers exceeds this ends as failed; below it,
# with some failures, as partially succeeded (its valid answers are used).
JUDGE_FAILURE_THRESHOLD = env_fraction("JUDGE_FAILURE_THRESHOLD", 0.1)

# Keyed pseudonyms (participants, export ids); separate from SECRET_KEY so rotating one keeps the other.
PSEUDONYM_KEY = env_str("PSEUDONYM_KEY", SECRET_KEY)

# Where GPU workers reach the web app's worker API (they hold no database credentials).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
RUN_TOKEN_TTL_S = env_int("RUN_TOKEN_TTL_S", 72 * 3600)
# A worker running a job or a training run proves it is alive every WORK_HEARTBEAT_INTERVAL_S seconds. Work
# silent for WORK_STALE_AFTER_S is taken back by the reaper (Celery beat, every WORK_REAP_INTERVAL_S):
# requeued until it has been claimed WORK_MAX_ATTEMPTS times, then failed.
WORK_HEARTBEAT_INTERVAL_S = env_int("WORK_HEARTBEAT_INTERVAL_S", 30)
WORK_STALE_AFTER_S = env_int("WORK_STALE_AFTER_S", 300)
WORK_MAX_ATTEMPTS = env_int("WORK_MAX_ATTEMPTS", 3)
# Work still QUEUED this long after its message was sent is sent again (a broker may lose its queues).
WORK_RESEND_AFTER_S = env_int("WORK_RESEND_AFTER_S", 6 * 3600)
# Base models named by hub id (not a path) are accepted only where GPU workers can reach a model hub.
ALLOW_HUB_MODELS = env_bool("ALLOW_HUB_MODELS", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    # Deny by default: every API view names the roles it allows.
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.DenyAll"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Therapy alignment research platform API",
    "DESCRIPTION": (
        "Researcher, clinician and GPU-worker endpoints. Worker endpoints take a per-run bearer token."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Nothing is fetched from other sites: no online validator badge, and the system's own fonts.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, sans-serif",
                "headings": {"fontFamily": "system-ui, sans-serif"},
                "code": {"fontFamily": "ui-monospace, monospace"},
            }
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "core.models.Status",
        "FinalStatusEnum": ["succeeded", "failed", "cancelled"],
        "SplitScopeEnum": "annotation.models.SplitScope",
        "SplitEnum": "annotation.models.Split",
        "RoleEnum": "people.models.ROLE_CHOICES",
        "InvitationStateEnum": "people.models.InvitationState",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-axes logs every sign-in at INFO; lockouts (WARNING) still show.
    "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}
