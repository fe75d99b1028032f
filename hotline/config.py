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


def _broker_settings(redis_url: str | None, instance: Path) -> dict[str, Any]:
    """Celery settings: Redis when REDIS_URL is set, else kombu's filesystem transport (no server)."""
    settings: dict[str, Any] = {
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": "Asia/Shanghai",
        "broker_connection_retry_on_startup": True,
    }
    if redis_url:
        settings["broker_url"] = redis_url
    else:
        queue = instance / "broker"
        settings["broker_url"] = "filesystem://"
        settings["broker_transport_options"] = {
            "data_folder_in": str(queue / "out"),
            "data_folder_out": str(queue / "out"),
            "processed_folder": str(queue / "processed"),
            "store_processed": False,
        }
    return settings


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
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "INSTANCE_DIR": str(instance),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh", "en"],
        "PER_PAGE": 20,
        "API_TOKEN_HOURS": 24,
        "RATING_WINDOW_DAYS": 7,
        "CELERY": _broker_settings(redis_url, instance),
    }
    if overrides:
        config.update(overrides)
    return config


def check_production(config: dict[str, Any]) -> None:
    """Refuse to start production with development defaults."""
    if config["HOTLINE_ENV"] != "production":
        return
    if config["SECRET_KEY"] in ("", DEV_SECRET) or len(config["SECRET_KEY"]) < 32:
        raise RuntimeError("production needs SECRET_KEY from the environment (32 characters or more)")
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        raise RuntimeError("production needs DATABASE_URL pointing at PostgreSQL")
