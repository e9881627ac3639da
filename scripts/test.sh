#!/usr/bin/env bash
# Installs what the tests need and runs lint, migration checks and the whole test suite.
# With CI=true, PostgreSQL, Redis and Chromium are mandatory: a missing one fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif [ "${CI:-}" = "true" ]; then
    echo "Chromium is missing and cannot be installed (need root and apt-get)." >&2; exit 1
  fi
fi

if services=$(scripts/services.sh); then
  eval "$services"
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true: PostgreSQL and Redis are required." >&2; exit 1
else
  eval "$services"
  echo "Some services are missing: tests that need them are skipped (CI=true makes that a failure)." >&2
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/mypy
DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python manage.py makemigrations --check --dry-run
.venv/bin/python -m pytest "$@"
