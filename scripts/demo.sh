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
# -B: this worker also runs beat (the pipeline reconciler, the work reaper), as in docker-compose.yml.
.venv/bin/celery -A config.celery worker -Q default -c 1 -n default@%h -B --schedule var/celerybeat-schedule \
  --loglevel INFO >var/log/worker-default.log 2>&1 &
DEFAULT_PID=$!
.venv/bin/celery -A training_worker.gpu.app worker -Q gpu -c 1 -n gpu@%h --loglevel INFO >var/log/worker-gpu.log 2>&1 &
GPU_PID=$!
trap 'kill $DEFAULT_PID $GPU_PID 2>/dev/null || true' EXIT INT TERM

.venv/bin/python manage.py demo_setup --url "$URL" --models var/models
echo "The superuser (demo-admin) is a researcher who may also use the Django admin at ${URL}/admin/."

# Once the app answers, the demo plan starts on the demo snapshot (or the demo pipeline already there is
# shown); nothing missing here stops the demo, a line says what happened instead.
start_demo_pipeline() {
  local found snapshot existing document
  for _ in $(seq 120); do
    .venv/bin/python -c "
import urllib.error, urllib.request
try:
    urllib.request.urlopen('${URL}/', timeout=2)
except urllib.error.HTTPError:
    pass  # any answer: the app is up
" 2>/dev/null && break
    sleep 1
  done
  found=$(.venv/bin/python -c "
import django
django.setup()
from annotation.selectors import snapshots_for_training
from pipelines.models import PipelineRun
snapshot = snapshots_for_training().first()
runs = PipelineRun.objects.filter(plan__name='demo', snapshot=snapshot, state__in=['running', 'succeeded'])
print(snapshot.content_hash if snapshot else '-', runs.values_list('pk', flat=True).first() or '-')
" 2>>var/log/pipeline-start.log) || found="- -"
  read -r snapshot existing <<<"$found"
  if [ "$snapshot" = "-" ] || [ -z "$snapshot" ]; then
    echo "The demo pipeline was not started: there is no frozen demo snapshot."
  elif [ "$existing" != "-" ]; then
    echo "The demo pipeline runs at ${URL}/pipelines/${existing}/"
  elif document=$(.venv/bin/python manage.py pipeline run pipelines/demo.yaml --snapshot "$snapshot" \
      --user demo-admin 2>>var/log/pipeline-start.log); then
    echo "The demo pipeline (pipelines/demo.yaml) runs at ${URL}/pipelines/$(printf '%s' "$document" |
      .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["id"])')/"
  else
    echo "The demo pipeline did not start (see var/log/pipeline-start.log); the rest of the demo runs."
  fi
}
start_demo_pipeline &
echo "Workers log to var/log/. Press Ctrl+C to stop."
.venv/bin/python manage.py runserver "127.0.0.1:${PORT}" --noreload
