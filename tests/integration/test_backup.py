"""Restore drill: back up a database with requests in it, destroy it, restore the backup, and every request
and every event is back, on SQLite and on PostgreSQL.  Files that are not backups are refused in one line.

The databases are built as in production, by the migrations (``flask_migrate.upgrade``), and filled through
the services; the commands run through Flask's CLI runner, so what is checked is what an operator sees.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, inspect, select, text

from hotline import backup, create_app
from hotline.db import utcnow
from hotline.extensions import db
from hotline.sla.services import sync_calendar_from_package
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket, TicketEvent
from tests import factories
from tests.helpers import test_config as make_config
from tests.integration.conftest import new_postgres_database

Snapshot = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _app(database_url: str, instance: Path) -> Flask:
    config = make_config(
        SQLALCHEMY_DATABASE_URI=database_url, SQLALCHEMY_ENGINE_OPTIONS={}, INSTANCE_DIR=str(instance)
    )
    app = create_app(config)
    # Registered here as well as by hotline/cli.py: ``add_command`` replaces a command of the same name.
    backup.init_app(app)
    return app


def _migrate_and_fill(app: Flask) -> None:
    """The schema by the migrations, then requests in several states, each with its timeline of events."""
    with app.app_context():
        try:
            flask_migrate.upgrade()
            now = utcnow()
            sync_calendar_from_package(now)  # as `flask calendar sync` after the upgrade: the clocks run
            world = factories.World()
            world.submit(now, title="新提交的诉求")
            handled = world.in_progress(now + timedelta(minutes=1))
            tickets.reply(handled.id, world.liaison, "已电话联系企业确认。", now + timedelta(minutes=2))
            world.resolved(now + timedelta(minutes=3))
            db.session.commit()
        finally:
            db.session.remove()


def _snapshot(app: Flask) -> Snapshot:
    """Every request and every event, as the pages show them."""
    with app.app_context():
        try:
            requests = db.session.execute(
                select(
                    Ticket.id, Ticket.number, Ticket.state, Ticket.title, Ticket.answer, Ticket.created_at
                ).order_by(Ticket.id)
            ).all()
            events = db.session.execute(
                select(
                    TicketEvent.id,
                    TicketEvent.ticket_id,
                    TicketEvent.kind,
                    TicketEvent.body,
                    TicketEvent.payload,
                    TicketEvent.created_at,
                ).order_by(TicketEvent.id)
            ).all()
            return [tuple(row) for row in requests], [tuple(row) for row in events]
        finally:
            db.session.remove()


def _invoke(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["backup", *args])
    assert "Traceback" not in result.output, result.output
    return result


def _refused(app: Flask, *args: str) -> str:
    """Run a command that must be refused; return its one-line message."""
    result = _invoke(app, *args)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


def _drill(app: Flask, instance: Path, suffix: str, destroy: Callable[[], None]) -> tuple[str, str]:
    """Back up to the default place, destroy, restore; return what the two commands printed."""
    before = _snapshot(app)
    requests, events = before
    assert len(requests) == 3 and len(events) > len(requests)
    # the drill must see kinds and bodies come back, not only rows
    assert len({event[2] for event in events}) >= 4 and any(event[3] for event in events)

    created = _invoke(app, "create")
    assert created.exit_code == 0, created.output
    [path] = (instance / "backups").iterdir()
    assert re.fullmatch(rf"hotline-\d{{8}}-\d{{6}}\{suffix}", path.name), path.name
    assert f"{len(requests)} requests, {len(events)} events" in created.output, created.output
    assert str(path) in created.output

    destroy()

    message = _refused(app, "restore", str(path))
    assert "--yes" in message, message
    restored = _invoke(app, "restore", str(path), "--yes")
    assert restored.exit_code == 0, restored.output
    # every table the restored database holds: the models', alembic_version and, on SQLite, the search's FTS5
    # tables with their shadow tables
    with app.app_context():
        db.engine.dispose()
        tables = len(inspect(db.engine).get_table_names())
    assert tables >= len(db.metadata.tables) + 1
    assert f"restored: {tables} tables, {len(requests)} requests, {len(events)} events" in restored.output
    assert _snapshot(app) == before
    return created.output, restored.output


# --------------------------------------------------------------------------- SQLite


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    instance = tmp_path / "instance"
    app = _app(f"sqlite:///{tmp_path / 'hotline.sqlite3'}", instance)
    _migrate_and_fill(app)
    try:
        yield app, instance
    finally:
        with app.app_context():
            db.engine.dispose()


def test_sqlite_restore_drill(sqlite_app: tuple[Flask, Path]) -> None:
    app, instance = sqlite_app

    def drop_every_table() -> None:
        with app.app_context():
            db.drop_all()
            with db.engine.begin() as connection:
                connection.execute(text("DROP TABLE alembic_version"))
            assert inspect(db.engine).get_table_names() == []
            db.engine.dispose()

    created, restored = _drill(app, instance, ".sqlite3", drop_every_table)
    assert "copying pages" in created and "copying the backup" in restored


def test_sqlite_refuses_what_is_not_a_backup(sqlite_app: tuple[Flask, Path], tmp_path: Path) -> None:
    app, _ = sqlite_app
    before = _snapshot(app)

    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database")
    assert "is not a backup" in _refused(app, "restore", str(garbage), "--yes")

    dump = tmp_path / "hotline.dump"
    dump.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(64))
    assert "is a PostgreSQL dump" in _refused(app, "restore", str(dump), "--yes")

    other = tmp_path / "other.sqlite3"
    other_app = _app(f"sqlite:///{other}", tmp_path / "other-instance")
    with other_app.app_context():
        db.create_all()  # tables, but not made by the migrations: no alembic_version
        db.engine.dispose()
    assert "no alembic_version table" in _refused(app, "restore", str(other), "--yes")

    assert "already exists" in _refused(app, "create", "--to", str(garbage))
    assert _snapshot(app) == before


HOLD_OPEN = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
connection.execute("SELECT count(*) FROM tickets").fetchone()
print("open", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="open files are found through /proc (Linux)")
def test_sqlite_restore_is_refused_while_another_process_has_the_database_open(
    sqlite_app: tuple[Flask, Path], tmp_path: Path
) -> None:
    """A worker still running would go on writing to the replaced file: its writes would be lost."""
    app, _ = sqlite_app
    path = tmp_path / "backup.sqlite3"
    assert _invoke(app, "create", "--to", str(path)).exit_code == 0
    with app.app_context():
        database = str(db.engine.url.database)
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, database], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as worker:
        assert worker.stdout is not None and worker.stdin is not None
        assert worker.stdout.readline() == "open\n"
        message = _refused(app, "restore", str(path), "--yes")
        assert f"is open in process {worker.pid}" in message, message
        worker.stdin.close()
    assert _invoke(app, "restore", str(path), "--yes").exit_code == 0


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def postgres_app(tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    """A fresh database made for this test (dropped at the end), migrated and filled."""
    with new_postgres_database("hotline_backup_test") as url:
        instance = tmp_path / "instance"
        app = _app(url, instance)
        try:
            _migrate_and_fill(app)
            yield app, instance
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.mark.postgres
def test_postgres_restore_drill(postgres_app: tuple[Flask, Path], tmp_path: Path) -> None:
    app, instance = postgres_app

    def drop_and_delete() -> None:
        with app.app_context(), db.engine.begin() as connection:
            # events are append-only (no DELETE), so they go with their table; the requests' rows are emptied
            connection.execute(text("DROP TABLE ticket_events CASCADE"))  # with the keys pointing at it
            connection.execute(text("TRUNCATE tickets CASCADE"))
            assert connection.scalar(select(func.count()).select_from(Ticket)) == 0
        with app.app_context():
            db.engine.dispose()

    created, restored = _drill(app, instance, ".dump", drop_and_delete)
    # the progress of the long steps, table by table
    assert "dumped public.ticket_events" in created and "restored public.ticket_events" in restored

    sqlite_file = tmp_path / "hotline.sqlite3"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + bytes(100))
    assert "is a SQLite backup" in _refused(app, "restore", str(sqlite_file), "--yes")
    garbage = tmp_path / "hotline.dump"
    garbage.write_text("not a dump")
    assert "is not a backup" in _refused(app, "restore", str(garbage), "--yes")
