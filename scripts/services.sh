#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1, starting the local servers when they are installed.
# Prints the DATABASE_URL and REDIS_URL to export; exits 1 if a service cannot be reached.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
if ! redis_up && command -v redis-server >/dev/null; then
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
fi

status=0
if pg_up; then echo "export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"; else echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; status=1; fi
if redis_up; then echo "export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/15}"; else echo "Redis is not reachable on 127.0.0.1:6379" >&2; status=1; fi
exit $status
