#!/usr/bin/env bash
# The embedded default: SQLite, a real Celery worker with beat over kombu's filesystem transport, the web.
# The same commands run on PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set (see docker-compose.yml).
set -eu
VENV=${VENV:-.venv}
export FLASK_APP=hotline
# The SQLite file, the broker folders, the beat schedule, the job locks and the worker log live here.
export HOTLINE_INSTANCE=${HOTLINE_INSTANCE:-$PWD/instance}
mkdir -p "$HOTLINE_INSTANCE/broker/out" "$HOTLINE_INSTANCE/broker/processed"
"$VENV/bin/flask" db upgrade
"$VENV/bin/flask" seed-demo --if-empty
# One worker process with beat inside it: routing, the outbox relay, clock sweeps and emails all run here.
"$VENV/bin/celery" -A worker.app worker -B --loglevel=info --concurrency=1 \
  --schedule "$HOTLINE_INSTANCE/celerybeat-schedule" >"$HOTLINE_INSTANCE/worker.log" 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
echo "worker and beat running (pid $worker, log $HOTLINE_INSTANCE/worker.log)"
echo "open http://127.0.0.1:${PORT:-5000} — demo logins in README.md (password demo-pass-2026)"
"$VENV/bin/flask" run --host 127.0.0.1 --port "${PORT:-5000}"
