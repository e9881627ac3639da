#!/usr/bin/env bash
# Installs everything and runs the app on the embedded default: SQLite, the filesystem Celery broker
# (no servers), a default-queue worker and a GPU-queue worker (CPU here), and the web server.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8000}
URL="http://127.0.0.1:${PORT}"

scripts/install.sh
export DJANGO_SETTINGS_MODULE=config.settings.dev PUBLIC_BASE_URL="$URL"
# The demo shows what visitors see (styled error pages); set DEBUG=true for Django's debug pages.
export DEBUG="${DEBUG:-false}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL
mkdir -p var/log

.venv/bin/python manage.py migrate --noinput
if [ ! -f var/models/policy/config.json ]; then
  echo "Building the tiny offline models (seconds)..."
  .venv/bin/python -m training_worker.ml build-tiny-models --output var/models >/dev/null
fi
.venv/bin/celery -A config.celery worker -Q default -c 1 -n default@%h --loglevel INFO >var/log/worker-default.log 2>&1 &
DEFAULT_PID=$!
.venv/bin/celery -A training_worker.gpu.app worker -Q gpu -c 1 -n gpu@%h --loglevel INFO >var/log/worker-gpu.log 2>&1 &
GPU_PID=$!
trap 'kill $DEFAULT_PID $GPU_PID 2>/dev/null || true' EXIT INT TERM

.venv/bin/python manage.py demo_setup --url "$URL" --models var/models
echo "The superuser (demo-admin) is a researcher who may also use the Django admin at ${URL}/admin/."
echo "Workers log to var/log/. Press Ctrl+C to stop."
.venv/bin/python manage.py runserver "127.0.0.1:${PORT}" --noreload
