"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL, and undo it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from hotline import create_app
from hotline.extensions import db
from tests.helpers import test_config as make_config

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

APP_TABLES = {
    "api_tokens",
    "buildings",
    "calendar_days",
    "categories",
    "clock_alerts",
    "clock_schedules",
    "coverages",
    "departments",
    "enterprises",
    "extensions",
    "login_sessions",
    "notifications",
    "outbox_messages",
    "ratings",
    "settings",
    "stats_cells",
    "streets",
    "ticket_counters",
    "ticket_events",
    "tickets",
    "users",
}


def _fresh_app(database_url: str) -> Flask:
    return create_app(make_config(SQLALCHEMY_DATABASE_URI=database_url, SQLALCHEMY_ENGINE_OPTIONS={}))


def _schema_differences() -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def _table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _upgrade_compare_downgrade(app: Flask) -> None:
    with app.app_context():
        try:
            assert _table_names() == set()
            flask_migrate.upgrade()
            assert _table_names() == APP_TABLES | {"alembic_version"}
            differences = _schema_differences()
            assert differences == [], f"the migrations and the models disagree: {differences}"

            flask_migrate.downgrade(revision="base")
            assert _table_names() <= {"alembic_version"}
            # And back up again: the downgrade left nothing behind that stops a new upgrade.
            flask_migrate.upgrade()
            assert _schema_differences() == []
            flask_migrate.downgrade(revision="base")
        finally:
            db.session.remove()
            db.engine.dispose()


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    _upgrade_compare_downgrade(_fresh_app(f"sqlite:///{tmp_path / 'migrated.sqlite3'}"))


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A uniquely named, empty PostgreSQL database, dropped afterwards.

    No skip when the server is down: CI starts PostgreSQL, so an unreachable server is a failure.
    """
    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_URL.format(name=name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_migrations_on_postgres(postgres_database: str) -> None:
    _upgrade_compare_downgrade(_fresh_app(postgres_database))
