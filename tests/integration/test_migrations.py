"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL, and undo it.

Autogenerate's comparison does not see triggers: the append-only triggers of ``ticket_events`` and
``ratings`` (revision 0004, hotline/tickets/append_only.py) are checked here on their own, by what they do
after an upgrade and a downgrade, and by comparing the definitions a migrated database has with those
``create_all`` makes.  Revision 0014's backfill of the rollup's new counters is checked against what the
application's rollup counts, and its offline (``--sql``) script for its set-based form.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from hotline import create_app
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.extensions import db
from hotline.stats import rollup
from hotline.tickets import queries, search_index
from hotline.tickets import services as tickets
from hotline.tickets.models import Rating, Ticket, TicketEvent
from tests import factories
from tests.helpers import test_config as make_config
from tests.integration.conftest import new_postgres_database

APP_TABLES = {
    "reply_templates",
    "api_tokens",
    "attachments",
    "audit_entries",
    "buildings",
    "calendar_days",
    "categories",
    "clock_alerts",
    "clock_schedules",
    "coverages",
    "departments",
    "enterprise_claims",
    "enterprises",
    "extensions",
    "followup_calls",
    "frozen_reports",
    "heartbeats",
    "idempotency_keys",
    "import_files",
    "kb_articles",
    "kb_deflections",
    "login_sessions",
    "meeting_buildings",
    "meeting_departments",
    "meeting_invitations",
    "meeting_questions",
    "meetings",
    "notifications",
    "outbox_messages",
    "password_resets",
    "ratings",
    "settings",
    "stats_cells",
    "streets",
    "task_counts",
    "ticket_counters",
    "ticket_events",
    "ticket_links",
    "ticket_origins",
    "tickets",
    "users",
    "visits",
}


def _fresh_app(database_url: str) -> Flask:
    return create_app(make_config(SQLALCHEMY_DATABASE_URI=database_url, SQLALCHEMY_ENGINE_OPTIONS={}))


def _schema_differences() -> list[object]:
    with db.engine.connect() as connection, warnings.catch_warnings():
        # The search indexes are PostgreSQL's (Index.ddl_if): SQLite reflects no expression index, and
        # Alembic says it skips them there.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        opts = {
            "compare_type": True,
            "include_name": search_index.autogenerate_include_name,
            "include_object": search_index.autogenerate_include_object,
        }
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, db.metadata))


def _table_names() -> set[str]:
    """The tables, SQLite's search tables aside (checked by ``_search_objects``)."""
    return {
        name for name in inspect(db.engine).get_table_names() if not search_index.is_sqlite_search_table(name)
    }


# --------------------------------------------------------------------------- append-only (revision 0004)

APPEND_ONLY = {"ticket_events": "body", "ratings": "comment"}  # table → a text column to change
# tables made append-only by later revisions (their own tests try changing them: tests/unit/test_reports.py)
LATER_APPEND_ONLY = (
    "frozen_reports",
    "audit_entries",
    "followup_calls",
)  # tests/integration/test_audit_postgres.py too
APPEND_ONLY_TRIGGERS = {
    (f"trg_{table}_refuse_{operation}", table)
    for table in (*APPEND_ONLY, *LATER_APPEND_ONLY)
    for operation in ("update", "delete")
}


def _append_only_objects() -> set[tuple[str, str, str]]:
    """The append-only triggers of the database and, on PostgreSQL, their function: (name, table,
    definition)."""
    return {(name, table, sql) for name, table, sql in _own_objects() if "refuse" in name}


def _own_objects() -> set[tuple[str, str, str]]:
    """The triggers of the database and, on PostgreSQL, its own functions: (name, table, definition)."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.execute(
                text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            return {(name, table, " ".join(sql.split())) for name, table, sql in rows}
        triggers = connection.execute(
            text(
                "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal"
            )
        ).all()
        functions = connection.execute(
            text(
                "SELECT p.proname, '', pg_get_functiondef(p.oid) FROM pg_proc p "
                "WHERE p.pronamespace = 'public'::regnamespace AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
            )
        ).all()
        return {(str(a), str(b), str(c)) for a, b, c in (*triggers, *functions)}


# --------------------------------------------------------------------------- search (revision 0008)

SEARCH_INDEXES = {"ix_tickets_search_trgm", "ix_tickets_search_bigrams", "ix_enterprises_name_trgm"}
SEARCH_INDEXES |= {"ix_enterprises_name_bigrams"}
assert SEARCH_INDEXES == search_index.SEARCH_INDEXES


def _search_objects() -> set[tuple[str, str, str]]:
    """What search adds to the database: (kind, name, definition).  SQLite: the FTS5 tables and the
    triggers that keep them; PostgreSQL: the GIN indexes and the bigram function (pg_trgm, an extension,
    stays after a downgrade)."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.execute(
                text(
                    "SELECT type, name, sql FROM sqlite_master WHERE name LIKE '%search%' AND sql IS NOT NULL"
                )
            ).all()
            return {(kind, name, " ".join(sql.split())) for kind, name, sql in rows}
        indexes = connection.execute(
            text("SELECT 'index', indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)"),
            {"names": sorted(SEARCH_INDEXES | {"ix_tickets_number_c"})},
        ).all()
        functions = {("function", a, c) for a, _, c in _own_objects() if a == "hotline_bigrams"}
        return {(str(a), str(b), str(c)) for a, b, c in indexes} | functions


def _assert_found_by_search() -> None:
    """The seeded request is found by a Chinese word of its title (3 and 2 characters), a part of its
    number and of its enterprise's name: the rows there before the migration are indexed too."""
    ticket = db.session.scalars(select(Ticket).order_by(Ticket.id).limit(1)).one()
    manager = db.session.scalars(select(User).where(User.role == Role.MANAGER).limit(1)).one()
    assert "停车位" in ticket.title
    for words in ("停车位", "停车", ticket.number[-7:], ticket.enterprise.name[-3:]):
        found = queries.search(queries.visible_tickets(manager), words)
        assert [t.number for t in db.session.scalars(found.query)] == [ticket.number], words
    assert not list(db.session.scalars(queries.search(queries.visible_tickets(manager), "停水").query))
    db.session.remove()


def _seed_rated_request() -> None:
    """A request resolved and rated through the services: events and a rating, committed."""
    world = factories.World()
    ticket = world.resolved(utcnow())
    tickets.rate(ticket.id, world.contact, "satisfied", "很满意", utcnow())
    db.session.commit()
    db.session.remove()


def _stored(table: str) -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def _assert_append_only() -> None:
    """UPDATE and DELETE of events and ratings, in SQL and through the ORM, are refused naming the table."""
    sqlite = db.engine.dialect.name == "sqlite"
    for table, column in APPEND_ONLY.items():
        before = _stored(table)
        assert before, f"no {table} rows to try changing"
        statements = [
            f"UPDATE {table} SET {column} = 'changed' WHERE id = {before[0][0]}",
            f"UPDATE {table} SET created_at = created_at",  # even a change to the same value, of every row
            f"DELETE FROM {table} WHERE id = {before[-1][0]}",
            f"DELETE FROM {table}",
        ]
        for statement in statements:
            with pytest.raises(DBAPIError) as refused, db.engine.begin() as connection:
                connection.execute(text(statement))
            assert f"{table} is append-only" in str(refused.value.orig), statement
            if sqlite:
                assert isinstance(refused.value, IntegrityError), statement
            else:
                assert isinstance(refused.value, ProgrammingError), statement
                assert refused.value.orig.sqlstate == "P0001", statement
            assert _stored(table) == before, statement
    for model, column in ((TicketEvent, "body"), (Rating, "comment")):
        row = db.session.scalars(select(model).order_by(model.id).limit(1)).one()
        setattr(row, column, "changed")
        with pytest.raises(DBAPIError, match=f"{model.__tablename__} is append-only"):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(model, row.id))
        with pytest.raises(DBAPIError, match=f"{model.__tablename__} is append-only"):
            db.session.commit()
        db.session.rollback()
        db.session.remove()
    if not sqlite:
        # TRUNCATE fires no UPDATE or DELETE trigger: an operator restoring a backup may empty the tables
        # (with the attachments, whose event_id refers to the events).
        with db.engine.connect() as connection:
            connection.execute(text("TRUNCATE ticket_events, followup_calls, ratings, attachments"))
            assert connection.scalar(text("SELECT count(*) FROM ticket_events")) == 0
            connection.rollback()
    # Appending still works.
    events, ratings = len(_stored("ticket_events")), len(_stored("ratings"))
    with db.engine.begin() as connection:
        for table in APPEND_ONLY:
            columns = ", ".join(c for c in _columns(table) if c != "id")
            connection.execute(
                text(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} ORDER BY id LIMIT 1")
            )
    assert (len(_stored("ticket_events")), len(_stored("ratings"))) == (events + 1, ratings + 1)


def _columns(table: str) -> list[str]:
    return [column["name"] for column in inspect(db.engine).get_columns(table)]


def _assert_changeable() -> None:
    """Without the triggers (below 0004), UPDATE and DELETE go through; rolled back, the rows stay."""
    for table, column in APPEND_ONLY.items():
        before = _stored(table)
        with db.engine.connect() as connection:
            updated = connection.execute(
                text(f"UPDATE {table} SET {column} = 'changed' WHERE id = {before[0][0]}")
            )
            assert updated.rowcount == 1
            deleted = connection.execute(text(f"DELETE FROM {table} WHERE id = {before[-1][0]}"))
            assert deleted.rowcount == 1
            connection.rollback()
        assert _stored(table) == before


def _upgrade_compare_downgrade(app: Flask) -> None:
    with app.app_context():
        try:
            assert _table_names() == set()
            flask_migrate.upgrade()
            assert _table_names() == APP_TABLES | {"alembic_version"}
            differences = _schema_differences()
            assert differences == [], f"the migrations and the models disagree: {differences}"

            # Append-only (0004): refused at head; the downgrade to 0003 removes the triggers and the
            # function; upgrading again, with rows in the tables, puts them back.
            migrated = _append_only_objects()
            assert {(name, table) for name, table, _ in migrated if table} == APPEND_ONLY_TRIGGERS
            if db.engine.dialect.name == "postgresql":
                assert {name for name, table, _ in migrated if not table} == {"hotline_refuse_change"}
            # Search (0008): its objects, found again after a downgrade and an upgrade over existing rows.
            searched = _search_objects()
            if db.engine.dialect.name == "postgresql":
                assert {name for _, name, _ in searched} == SEARCH_INDEXES | {
                    "hotline_bigrams",
                    "ix_tickets_number_c",  # 0019: the number in byte order, for a search by its start
                }
            else:
                assert {name for kind, name, _ in searched if kind == "trigger"} == {
                    f"trg_{table}_search_{op}"
                    for table in ("tickets", "enterprises")
                    for op in ("insert", "delete", "update")
                }
            _seed_rated_request()
            _assert_found_by_search()
            _assert_append_only()
            flask_migrate.downgrade(revision="0003")
            assert _append_only_objects() == set()
            assert _search_objects() == set()
            _assert_changeable()
            flask_migrate.upgrade()
            assert _append_only_objects() == migrated
            assert _search_objects() == searched
            _assert_found_by_search()
            _assert_append_only()

            flask_migrate.downgrade(revision="base")
            assert _table_names() <= {"alembic_version"}
            # And back up again: the downgrade left nothing behind that stops a new upgrade.
            flask_migrate.upgrade()
            assert _schema_differences() == []
            flask_migrate.downgrade(revision="base")
            assert _append_only_objects() == set()
            assert _search_objects() == set()

            # create_all (the tests, a first start) makes the very triggers and function the migrations make.
            db.create_all()
            assert _append_only_objects() == migrated
            assert _search_objects() == searched
            db.drop_all()
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as connection:  # drop_all drops tables, not functions
                    connection.execute(text("DROP FUNCTION hotline_refuse_change()"))
                    connection.execute(text("DROP FUNCTION hotline_bigrams(text)"))
            assert _append_only_objects() == set()
            assert _search_objects() == set()
            assert _table_names() <= {"alembic_version"}
        finally:
            db.session.remove()
            db.engine.dispose()


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    _upgrade_compare_downgrade(_fresh_app(f"sqlite:///{tmp_path / 'migrated.sqlite3'}"))


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A uniquely named, empty PostgreSQL database, dropped afterwards."""
    with new_postgres_database("hotline_test") as url:
        yield url


@pytest.mark.postgres
def test_migrations_on_postgres(postgres_database: str) -> None:
    _upgrade_compare_downgrade(_fresh_app(postgres_database))


# --------------------------------------------------------------------------- the rollup's new counters (0014)

NEW_CELL_COLUMNS = ("first_satisfied", "rated_by_enterprise", "rated_by_followup", "unrated", "returned_late")


def _cells(columns: tuple[str, ...]) -> dict[tuple[str, ...], tuple[int, ...]]:
    """The rollup's cells: key (month as text, the ids, the channel) → the counters named."""
    keys = ", ".join(rollup.KEY_COLUMNS)
    with db.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT {keys}, {', '.join(columns)} FROM stats_cells")).all()
    width = len(rollup.KEY_COLUMNS)
    return {tuple(str(v) for v in row[:width]): tuple(int(v) for v in row[width:]) for row in rows}


def _seed_closed_requests() -> None:
    """Closed requests in three local months, rated online, from a follow-up call, dissatisfied first then
    satisfied after a reopening, and closed unrated; one filed at 04:00 on 1 April in Shanghai (still
    31 March in UTC), so a cell's month is the local one; open requests, which no cell holds."""
    world = factories.World()
    times = (
        datetime(2026, 2, 10, 2, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        datetime(2026, 3, 31, 20, 0, tzinfo=UTC),  # 1 April, 04:00, in Shanghai
    )
    for when in times:
        online = world.resolved(when)
        tickets.rate(online.id, world.contact, "satisfied", "", when + timedelta(hours=1))
        called = world.resolved(when)
        world.followed_up(called, "basically_satisfied", when + timedelta(days=30))
        again = world.resolved(when)
        tickets.rate(again.id, world.contact, "dissatisfied", "还是没解决", when + timedelta(hours=1))
        tickets.resolve(again.id, world.liaison, "已再次协调。", when + timedelta(hours=3))
        tickets.rate(again.id, world.contact, "satisfied", "", when + timedelta(hours=4))
        lapsed = world.resolved(when)
        assert lapsed.rating_due_at is not None
        tickets.close_unrated(lapsed.rating_due_at + timedelta(seconds=1))
        reopened = world.resolved(when)
        tickets.rate(reopened.id, world.contact, "dissatisfied", "仍未解决", when + timedelta(hours=1))
    world.resolved(times[-1])  # awaiting its rating (after the last close_unrated): not closed
    db.session.commit()
    db.session.remove()


def _backfill_fills_the_cells_as_the_rollup_counts_them(app: Flask) -> None:
    """Requests closed before revision 0014 get the new counters of their cells from the migration, and they
    are what the application's rollup counts: upgrade, seed through the services, go back to 0013 (the new
    columns gone), upgrade to 0014 again."""
    with app.app_context():
        try:
            flask_migrate.upgrade()
            _seed_closed_requests()
            with db.engine.connect() as connection:
                assert rollup.drift(connection) == []
            expected = _cells(NEW_CELL_COLUMNS)
            assert {key[0] for key in expected} == {"2026-02-01", "2026-03-01", "2026-04-01"}
            old_counters = _cells(("total", "rated", "satisfied"))
            april = [values for key, values in old_counters.items() if key[0] == "2026-04-01"]
            assert april == [(4, 3, 2)]  # 1 April local, 31 March UTC: April's cell
            sums = [sum(values[i] for values in expected.values()) for i in range(len(NEW_CELL_COLUMNS))]
            # first_satisfied: online and called (the reopened one was dissatisfied first), per month
            assert sums == [6, 6, 3, 3, 0]

            flask_migrate.downgrade(revision="0013")
            assert set(NEW_CELL_COLUMNS).isdisjoint(_columns("stats_cells"))
            flask_migrate.upgrade(revision="0014")
            assert _cells(NEW_CELL_COLUMNS) == expected
            assert _cells(("total", "rated", "satisfied")) == old_counters  # the other counters untouched
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                assert rollup.drift(connection) == []
        finally:
            db.session.remove()
            db.engine.dispose()


def test_revision_0014_fills_the_new_counters_of_the_cells_on_sqlite(tmp_path: Path) -> None:
    _backfill_fills_the_cells_as_the_rollup_counts_them(_fresh_app(f"sqlite:///{tmp_path / 'cells.sqlite3'}"))


@pytest.mark.postgres
def test_revision_0014_fills_the_new_counters_of_the_cells_on_postgres(postgres_database: str) -> None:
    _backfill_fills_the_cells_as_the_rollup_counts_them(_fresh_app(postgres_database))


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/offline.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:5432/hotline_offline_unused",
    ],
)
def test_revision_0014_writes_its_sql_offline_with_one_grouped_pass_for_the_cells(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``flask db upgrade 0013:0014 --sql`` needs no database (none is created here): the dialect comes from
    the migration context; the cells' new counters are one UPDATE joined to one grouped pass over the
    closed requests, not a count per cell and column."""
    app = _fresh_app(url.format(tmp=tmp_path))
    with app.app_context():
        try:
            flask_migrate.upgrade(revision="0013:0014", sql=True)
        finally:
            db.engine.dispose()
    script = capsys.readouterr().out
    (cells,) = [line for line in script.splitlines() if line.startswith("UPDATE stats_cells")]
    assert cells.count("FROM tickets") == 1 and "GROUP BY" in cells
    assert "stats_cells.month = c.month" in cells
    postgres = url.startswith("postgresql")
    assert ("AT TIME ZONE 'Asia/Shanghai'" in cells) is postgres
    assert ("'+8 hours'" in cells) is not postgres
    assert "UPDATE alembic_version SET version_num='0014'" in script


# --------------------------------------------------------------------------- destructive steps in production


def _head() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@pytest.mark.postgres
def test_production_refuses_every_downgrade_unless_explicitly_allowed(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_ALLOW_DESTRUCTIVE", raising=False)
    app = _fresh_app(postgres_database)
    app.config["HOTLINE_ENV"] = "production"
    with app.app_context():
        try:
            flask_migrate.upgrade()  # upgrading is never refused
            head, tables = _head(), _table_names()
            _seed_rated_request()
            events = _stored("ticket_events")
            runner = app.test_cli_runner()
            for revision in ("base", "0003", None):  # None: the default, one step down
                command = ["db", "downgrade", *([revision] if revision else [])]
                result = runner.invoke(args=command)  # what an operator types
                assert result.exit_code == 1, revision
                assert "refused in production" in result.output, revision
                assert "HOTLINE_ALLOW_DESTRUCTIVE=1" in result.output
                assert _table_names() == tables, revision
                assert _head() == head and _stored("ticket_events") == events, revision

            # Explicitly allowed: by the -x flag for one command, or by the environment.
            flask_migrate.downgrade(revision="0003", x_arg=["allow-destructive"])
            assert _head() == "0003" and _append_only_objects() == set()
            flask_migrate.upgrade()
            monkeypatch.setenv("HOTLINE_ALLOW_DESTRUCTIVE", "1")
            assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
            assert _table_names() <= {"alembic_version"}
        finally:
            db.session.remove()
            db.engine.dispose()


def test_outside_production_a_downgrade_needs_no_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_ALLOW_DESTRUCTIVE", raising=False)
    app = _fresh_app(f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    assert app.config["HOTLINE_ENV"] != "production"
    with app.app_context():
        try:
            flask_migrate.upgrade()
            flask_migrate.downgrade(revision="base")
            assert _table_names() <= {"alembic_version"}
        finally:
            db.session.remove()
            db.engine.dispose()
