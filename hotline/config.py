"""Configuration: defaults for the embedded run, then the environment.

Every setting can be overridden by an environment variable of the same name.  ``HOTLINE_ENV=production``
turns on the production checks (a real secret, no demo data, secure cookies).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("HOTLINE_INSTANCE", ROOT / "instance"))

DEV_SECRET = "dev-only-secret-change-me"
# The languages of the pages, the API and the emails (Chinese first: the default).
LANGUAGES = ("zh", "en")


# Redis redelivers a message not acknowledged within the visibility timeout (FACTS.md): every task must end
# well before it, so time limits are minutes and nothing is scheduled far ahead (beat sweeps the database).
VISIBILITY_TIMEOUT_SECONDS = 3600
TASK_TIME_LIMIT_SECONDS = 10 * 60
TASK_SOFT_TIME_LIMIT_SECONDS = 9 * 60


# The private Redis server of the embedded run (``make run``: scripts/run.sh, deploy/supervisord.conf), on
# 127.0.0.1 and a port of its own, next to any system Redis on 6379.
EMBEDDED_REDIS_PORT = int(os.environ.get("HOTLINE_REDIS_PORT", "6390"))


def _broker_settings(redis_url: str | None, instance: Path) -> dict[str, Any]:
    """Celery settings: the broker is Redis, at ``REDIS_URL``, or else the embedded run's private server.

    ``make run`` exports ``REDIS_URL`` of the server it starts (with its password), so the embedded run and
    production take the same paths (Redis broker, Redis locks, Redis limiter counts).  A process given no
    ``REDIS_URL`` (the unit tests, a command run by hand) publishes to the embedded server's address without
    the password: refused (NOAUTH, or nothing listening) at once, so the outbox keeps the message for a relay
    that has the broker — never marked published into a void, never hanging, never delivered to another
    instance's workers.  (``instance`` is kept for the callers; no broker file lives there any more.)

    Tasks are acknowledged after they ran and rejected (so redelivered) when their worker process is killed;
    a worker takes one message at a time; publishing retries a bounded number of times with bounded socket
    timeouts, so a caller never hangs on a broker that is down (the outbox relays the message later).
    """
    settings: dict[str, Any] = {
        "broker_url": redis_url or f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0",
        "broker_transport_options": {
            "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
            "socket_connect_timeout": 2.0,
            "socket_timeout": 5.0,
            "socket_keepalive": True,
            # bounded connection retries when publishing (kombu's default is to retry forever)
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_time_limit": TASK_TIME_LIMIT_SECONDS,
        "task_soft_time_limit": TASK_SOFT_TIME_LIMIT_SECONDS,
        "timezone": "Asia/Shanghai",
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a worker outlives a broker outage, reconnecting
        "broker_connection_timeout": 2.0,
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
    }
    return settings


def _throttle_settings() -> dict[str, Any]:
    """Flask-Limiter's settings and the limits of failed attempts (hotline/throttle.py counts failures only).

    A limit is a rate string (``"10 per 15 minutes"``): that many failures in any 15 minutes, the next attempt
    answered 429 until the oldest of them is 15 minutes old (the moving window).  The storage follows
    ``REDIS_URL`` (set in ``throttle.init_app``).  ``RATELIMIT_ENABLED=0`` turns throttling off.
    """
    env = os.environ
    return {
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "1").lower() not in ("0", "false", "no", "off"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_KEY_PREFIX": "hotline",
        # Redis out of reach: count in this process's memory meanwhile, and never fail a request for it
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "THROTTLE_LOGIN_PER_ACCOUNT": env.get("THROTTLE_LOGIN_PER_ACCOUNT", "10 per 15 minutes"),
        # higher than per account: the people of one office building often share one public address
        "THROTTLE_LOGIN_PER_ADDRESS": env.get("THROTTLE_LOGIN_PER_ADDRESS", "30 per 15 minutes"),
        "THROTTLE_REGISTER_PER_ADDRESS": env.get("THROTTLE_REGISTER_PER_ADDRESS", "10 per 15 minutes"),
        "THROTTLE_PASSWORD_CHANGE_PER_ACCOUNT": env.get(
            "THROTTLE_PASSWORD_CHANGE_PER_ACCOUNT", "10 per 15 minutes"
        ),
        # "forgot your password": every request counts (not only failures), per account named and address
        "THROTTLE_RESET_REQUEST_PER_ACCOUNT": env.get("THROTTLE_RESET_REQUEST_PER_ACCOUNT", "3 per hour"),
        "THROTTLE_RESET_REQUEST_PER_ADDRESS": env.get("THROTTLE_RESET_REQUEST_PER_ADDRESS", "10 per hour"),
        # unknown, used or expired reset links tried, per address
        "THROTTLE_RESET_LINK_PER_ADDRESS": env.get("THROTTLE_RESET_LINK_PER_ADDRESS", "20 per 15 minutes"),
    }


def _health_settings(production: bool) -> dict[str, Any]:
    """Thresholds of ``/readyz`` and the managers' banner, heartbeats, metrics and logs (hotline/ops).

    A worker or beat silent for longer than its threshold, a request unrouted for longer than
    ``HEALTH_UNROUTED_SECONDS``, an outbox message unpublished for longer than ``HEALTH_OUTBOX_SECONDS`` or no
    successful clock sweep for ``HEALTH_SWEEP_STALE_SECONDS`` fails readiness.  Heartbeats are written every
    ``HEALTH_HEARTBEAT_SECONDS`` (well under the silences).  ``METRICS_TOKEN``: in production, ``/metrics``
    then answers only ``Authorization: Bearer <token>``; unset, only loopback and private addresses.
    ``LOG_FORMAT``: ``json`` (production default) or ``plain``.
    """
    env = os.environ
    return {
        "HEALTH_WORKER_SILENT_SECONDS": int(env.get("HEALTH_WORKER_SILENT_SECONDS", "120")),
        "HEALTH_BEAT_SILENT_SECONDS": int(env.get("HEALTH_BEAT_SILENT_SECONDS", "120")),
        "HEALTH_UNROUTED_SECONDS": int(env.get("HEALTH_UNROUTED_SECONDS", "300")),
        "HEALTH_OUTBOX_SECONDS": int(env.get("HEALTH_OUTBOX_SECONDS", "60")),
        "HEALTH_SWEEP_STALE_SECONDS": int(env.get("HEALTH_SWEEP_STALE_SECONDS", "600")),
        "HEALTH_HEARTBEAT_SECONDS": float(env.get("HEALTH_HEARTBEAT_SECONDS", "30")),
        "HEALTH_TASK_COUNTS_SECONDS": float(env.get("HEALTH_TASK_COUNTS_SECONDS", "10")),
        "HEALTH_DB_TIMEOUT_SECONDS": float(env.get("HEALTH_DB_TIMEOUT_SECONDS", "2")),
        "HEALTH_BROKER_TIMEOUT_SECONDS": float(env.get("HEALTH_BROKER_TIMEOUT_SECONDS", "1")),
        "HEALTH_BANNER_CACHE_SECONDS": float(env.get("HEALTH_BANNER_CACHE_SECONDS", "15")),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "LOG_FORMAT": env.get("LOG_FORMAT", "json" if production else "plain"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
    }


def _mail_settings(production: bool) -> dict[str, Any]:
    """SMTP for notification emails.  An empty MAIL_SERVER means "do not send": the embedded run has no
    mail server, so there it defaults to empty and each email is marked skipped; production defaults to
    localhost:25.
    """
    env = os.environ
    return {
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost" if production else ""),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_STARTTLS": env.get("MAIL_USE_STARTTLS", "").lower() in ("1", "true", "yes", "on"),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": env.get("MAIL_FROM", "企呼我应 <noreply@localhost>"),
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT", "10")),
        # Links in emails: workers have no request to take the host from.
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
    }


def _engine_options(database_url: str) -> dict[str, Any]:
    """Connections never wait long: PostgreSQL's connect attempt gives up after 5 s (a partition must not
    hang a page, ``/readyz`` or a heartbeat); SQLite waits up to 15 s for another process's write
    (hotline/db.py sets its journal).  PostgreSQL's pooled connections are checked before use when they
    have been idle a while (``hotline.db.ping_idle_connections``, installed by ``create_app``), not at
    every checkout; SQLite opens a file, there is no server to lose."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    if database_url.startswith("postgresql"):
        return {"connect_args": {"connect_timeout": 5}}
    return {"pool_pre_ping": True}


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping for ``create_app``."""
    env = os.environ.get("HOTLINE_ENV", "development")
    instance = INSTANCE
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'hotline.sqlite3'}"
    redis_url = os.environ.get("REDIS_URL") or None
    production = env == "production"
    config: dict[str, Any] = {
        "HOTLINE_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "REDIS_URL": redis_url,
        "INSTANCE_DIR": str(instance),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # Reverse proxies in front of the app whose X-Forwarded-* headers are believed (hotline/security.py);
        # docker-compose.yml has one (Caddy), the embedded run none.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # ... only from these addresses (the proxy's): a client reaching gunicorn directly cannot forge one
        "TRUSTED_PROXY_NETWORKS": os.environ.get("TRUSTED_PROXY_NETWORKS", "127.0.0.0/8,::1/128"),
        "HSTS": os.environ.get("HSTS", "1" if production else "0").lower() in ("1", "true", "yes", "on"),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        # Attachments (hotline.attachments): kept here, never under static/; each file at most this many bytes
        # (the upload endpoints take several of them at once, past MAX_CONTENT_LENGTH).
        "ATTACHMENTS_DIR": os.environ.get("ATTACHMENTS_DIR") or str(instance / "attachments"),
        "ATTACHMENT_MAX_BYTES": int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": list(LANGUAGES),
        "PER_PAGE": 20,
        "API_TOKEN_HOURS": 24,
        "RATING_WINDOW_DAYS": 7,
        # 回访 (hotline.followup): a resolved request the enterprise has not rated this many working days
        # after the answer goes to the managers' follow-up queue; that many unanswered calls, each this many
        # working minutes after the one before, close it unrated.  0 days turns the follow-up off: the
        # rating window (RATING_WINDOW_DAYS) then ends with the sweep closing unrated requests.
        "FOLLOWUP_AFTER_WORKING_DAYS": int(os.environ.get("FOLLOWUP_AFTER_WORKING_DAYS", "2")),
        "FOLLOWUP_ATTEMPTS": int(os.environ.get("FOLLOWUP_ATTEMPTS", "3")),
        "FOLLOWUP_RETRY_MINUTES": int(os.environ.get("FOLLOWUP_RETRY_MINUTES", "120")),
        # Managers are warned on every page of requests in the queue longer than this (working days).
        "FOLLOWUP_STALE_WORKING_DAYS": int(os.environ.get("FOLLOWUP_STALE_WORKING_DAYS", "3")),
        "CELERY": _broker_settings(redis_url, instance),
        # Publish outbox messages right after the transaction that wrote them commits (the beat relay is the
        # safety net); tests without a broker turn it off.
        "OUTBOX_NUDGE": os.environ.get("OUTBOX_NUDGE", "1").lower() not in ("0", "false", "no", "off"),
        # A request still unrouted this long after submission has its routing queued again (a message lost
        # by the broker, or held unacknowledged by a killed worker until the visibility timeout).
        "ROUTING_RECONCILE_SECONDS": int(os.environ.get("ROUTING_RECONCILE_SECONDS", "180")),
        **_mail_settings(production),
        **_throttle_settings(),
        **_health_settings(production),
    }
    if overrides:
        config.update(overrides)
        if "CELERY" not in overrides and ("REDIS_URL" in overrides or "INSTANCE_DIR" in overrides):
            # the broker follows an overridden Redis URL or instance folder (tests, benchmarks)
            config["CELERY"] = _broker_settings(config["REDIS_URL"], Path(config["INSTANCE_DIR"]))
        if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides and "SQLALCHEMY_DATABASE_URI" in overrides:
            # the connection options follow an overridden database (tests, benchmarks)
            config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(str(config["SQLALCHEMY_DATABASE_URI"]))
    return config


def check_production(config: dict[str, Any]) -> None:
    """Refuse to start production with development defaults."""
    if config["HOTLINE_ENV"] != "production":
        return
    if config["SECRET_KEY"] in ("", DEV_SECRET) or len(config["SECRET_KEY"]) < 32:
        raise RuntimeError("production needs SECRET_KEY from the environment (32 characters or more)")
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        raise RuntimeError("production needs DATABASE_URL pointing at PostgreSQL")
