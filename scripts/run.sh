#!/usr/bin/env bash
# The embedded default: SQLite, a real Celery worker with beat over kombu's filesystem transport, the web.
set -eu
VENV=${VENV:-.venv}
export FLASK_APP=hotline
mkdir -p instance/broker/out instance/broker/processed
"$VENV/bin/flask" db upgrade
"$VENV/bin/flask" seed-demo --if-empty
"$VENV/bin/celery" -A worker.app worker -B --loglevel=info --concurrency=1 \
  --schedule instance/celerybeat-schedule >instance/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
echo "worker and beat running (pid $worker, log instance/worker.log)"
echo "open http://127.0.0.1:5000 — demo logins in README.md (password demo-pass-2026)"
"$VENV/bin/flask" run --host 127.0.0.1 --port "${PORT:-5000}"
