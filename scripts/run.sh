#!/usr/bin/env bash
# The embedded default (`make run`): SQLite in the instance folder, a private Redis server, the web under
# gunicorn, a routing worker, a worker for everything else and beat, all kept up by supervisord
# (deploy/supervisord.conf), which restarts whatever exits.  In the foreground: Ctrl-C stops everything.
#
#   scripts/run.sh            set the instance folder up, migrate, seed the demo, run supervisord
#   scripts/run.sh ctl ARGS   supervisorctl on the running one (`make status` = `ctl status`, `make stop`)
#
# Settings: PORT (web, default 5000), HOTLINE_REDIS_PORT (private Redis, default 6390: a system Redis on
# 6379 is never touched), HOTLINE_INSTANCE (default ./instance), VENV (default .venv), REDIS_BIN.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-.venv}
export HOTLINE_ROOT=$ROOT
export HOTLINE_VENV_BIN
HOTLINE_VENV_BIN=$(cd "$VENV/bin" && pwd)
export HOTLINE_INSTANCE=${HOTLINE_INSTANCE:-$ROOT/instance}
export PORT=${PORT:-5000}
export HOTLINE_REDIS_PORT=${HOTLINE_REDIS_PORT:-6390}
# The embedded run always uses its own Redis (REDIS_URL, with its password, is set below): broker, job locks
# and login-throttle counts, as in production.
export FLASK_APP=hotline
export REDIS_BIN=${REDIS_BIN:-$(command -v redis-server || echo /usr/bin/redis-server)}
CONF=$ROOT/deploy/supervisord.conf
CTL=("$HOTLINE_VENV_BIN/supervisorctl" -c "$CONF")

say() { printf '==> %s\n' "$*"; }
fail() { printf 'make run: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" = ctl ]; then
  shift
  [ -S "$HOTLINE_INSTANCE/supervisor.sock" ] || fail "not running (no $HOTLINE_INSTANCE/supervisor.sock): start it with make run"
  exec "${CTL[@]}" "$@"
fi

[ -x "$HOTLINE_VENV_BIN/supervisord" ] || fail "supervisord is not in $VENV: run make setup"

if [ ! -x "$REDIS_BIN" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "redis-server is missing: installing Debian's package (apt-get install redis-server)"
    apt-get install -y -q --no-install-recommends redis-server >/dev/null \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends redis-server >/dev/null; } \
      || fail "could not install redis-server; install it yourself: sudo apt-get install redis-server"
    REDIS_BIN=$(command -v redis-server || echo /usr/bin/redis-server)
    [ -x "$REDIS_BIN" ] || fail "redis-server still not found after installing it"
  else
    fail "redis-server is not installed (the embedded run starts a private one). Install it with:
    sudo apt-get install redis-server        (Debian, Ubuntu)
or point REDIS_BIN at a redis-server binary."
  fi
fi

if "${CTL[@]}" pid >/dev/null 2>&1; then
  fail "already running for $HOTLINE_INSTANCE (make status; make stop to stop it)"
fi
port_taken() {
  "$HOTLINE_VENV_BIN/python" - "$1" <<'EOF'
import socket, sys
with socket.socket() as s:
    try:
        s.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(0)
sys.exit(1)
EOF
}
port_taken "$PORT" && fail "port $PORT is in use on 127.0.0.1: stop what holds it or choose another (PORT=5001 make run)"
port_taken "$HOTLINE_REDIS_PORT" \
  && fail "port $HOTLINE_REDIS_PORT (the private Redis) is in use: another make run? (HOTLINE_REDIS_PORT=6391 make run)"

mkdir -p "$HOTLINE_INSTANCE/logs" "$HOTLINE_INSTANCE/redis"
# The private Redis asks for a password (any local user could otherwise reset the login-throttle counts, the
# job locks or the queues); it is made once and kept in a file only this user can read.
if [ ! -s "$HOTLINE_INSTANCE/redis/redis.conf" ]; then
  (umask 077 && "$HOTLINE_VENV_BIN/python" -c 'import secrets; print("requirepass " + secrets.token_hex(24))' \
    >"$HOTLINE_INSTANCE/redis/redis.conf")
fi
chmod 600 "$HOTLINE_INSTANCE/redis/redis.conf"
REDIS_PASSWORD=$(sed -n 's/^requirepass //p' "$HOTLINE_INSTANCE/redis/redis.conf")
export REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:$HOTLINE_REDIS_PORT/0"
rm -rf "$HOTLINE_INSTANCE/prometheus" && mkdir -p "$HOTLINE_INSTANCE/prometheus"
rm -f "$HOTLINE_INSTANCE/supervisor.sock"  # left by a supervisord that was killed

say "database: flask db upgrade ($HOTLINE_INSTANCE)"
"$HOTLINE_VENV_BIN/flask" db upgrade
say "demo data (first start only; this takes a few seconds)"
# No broker is up yet: the rows the seeding writes to the outbox stay pending, and beat's relay publishes
# them within seconds of starting (nothing waits on a connection that cannot succeed).
OUTBOX_NUDGE=0 "$HOTLINE_VENV_BIN/flask" seed-demo --if-empty

cat <<EOF
==> starting redis, web, worker-routing, worker, beat under supervisord
    open      http://127.0.0.1:$PORT  (demo logins in README.md, password demo-pass-2026)
    logs      $HOTLINE_INSTANCE/logs/{web,worker-routing,worker,beat,redis,supervisord}.log
    state     make status     (a crashed program is restarted by itself; its restarts show in supervisord.log)
    stop      Ctrl-C here, or make stop
EOF
exec "$HOTLINE_VENV_BIN/supervisord" -n -c "$CONF"
