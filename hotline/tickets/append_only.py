"""``ticket_events`` and ``ratings`` are append-only in the database itself (DESIGN §4), and so are the
tables that later features made the same way: the audit log's ``audit_entries`` (revision 0015), the frozen
reports (0017) and the follow-up calls' ``followup_calls`` (0018), each revision holding its own copy of
these statements.

Events are the timeline the enterprise sees and the audit trail managers see; ratings are every rating ever
given.  Neither is ever edited or deleted, so besides the code never doing it, triggers refuse any UPDATE or
DELETE of their rows, whoever issues it (the ORM, raw SQL, a console):

- PostgreSQL: one function, ``hotline_refuse_change()``, raising ``<table> is append-only`` (SQLSTATE
  ``P0001``, ``raise_exception``: psycopg 3's ``RaiseException``, a ``ProgrammingError``, so SQLAlchemy's
  ``ProgrammingError``; neither the ``OperationalError`` the Celery tasks retry nor the ``IntegrityError``
  the insert races catch), called by a ``BEFORE UPDATE`` and a ``BEFORE DELETE`` trigger ``FOR EACH ROW`` on
  each table.
- SQLite: a ``BEFORE UPDATE`` and a ``BEFORE DELETE`` trigger on each table doing
  ``RAISE(ABORT, '<table> is append-only')`` (sqlite3's ``IntegrityError``, SQLAlchemy's ``IntegrityError``).

INSERT is untouched.  ``TRUNCATE`` (PostgreSQL) fires no UPDATE or DELETE trigger and stays allowed: an
operator restoring a backup may empty the tables.  SQLite has no TRUNCATE: ``DELETE FROM`` is refused like
any delete, so a SQLite database is emptied by dropping its tables (``drop_all``), which drops their triggers
first.

Two paths create the triggers, and they must agree:

- ``db.create_all()`` (the tests, a first start): :func:`install` hangs the statements below on the tables'
  ``after_create`` event (``hotline/tickets/models.py`` calls it for ``TicketEvent`` and ``Rating``,
  ``hotline/audit/models.py`` for the audit log's ``AuditEntry``, whose triggers migration 0015 makes);
- the migrations: ``migrations/versions/0004_append_only.py`` holds a copy of the same statements (a revision
  describes the schema as of that revision and must not change when this module does).  If these
  statements change, write a new revision; ``tests/integration/test_migrations.py`` compares the triggers a
  migrated database has with those ``create_all`` makes, on both dialects.

Careful with SQLite batch migrations (``render_as_batch``): recreating ``ticket_events`` or ``ratings``
through ``batch_alter_table`` copies the rows into a new table and drops the old one, and its triggers with
it.  Such a revision must create the triggers again afterwards.
"""

from __future__ import annotations

from sqlalchemy import DDL, Table, event

TABLES = ("ticket_events", "ratings")
OPERATIONS = ("update", "delete")
FUNCTION = "hotline_refuse_change"


def message(table: str) -> str:
    """The error the database raises for a change to ``table``."""
    return f"{table} is append-only"


def trigger_name(table: str, operation: str) -> str:
    return f"trg_{table}_refuse_{operation}"


# CREATE OR REPLACE: every table's after_create runs it, and a drop_all leaves the function behind (it is not
# a table); the next create_all then replaces it in place.
POSTGRESQL_FUNCTION = f"""\
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END;
$$"""


def postgresql_create(table: str) -> list[str]:
    """The statements that make ``table`` append-only on PostgreSQL, the function first."""
    return [POSTGRESQL_FUNCTION] + [
        f"CREATE TRIGGER {trigger_name(table, op)} BEFORE {op.upper()} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        for op in OPERATIONS
    ]


def sqlite_create(table: str) -> list[str]:
    """The statements that make ``table`` append-only on SQLite."""
    return [
        f"CREATE TRIGGER {trigger_name(table, op)} BEFORE {op.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{message(table)}'); END"
        for op in OPERATIONS
    ]


def _ddl(statement: str, dialect: str) -> DDL:
    # DDL() applies %-formatting (``%(table)s``): a literal % (the function's RAISE format) is doubled.
    return DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)


def install(table: Table) -> None:
    """Create the triggers whenever ``table`` is created by ``create_all`` or ``table.create()``.

    Idempotent: installing the same table twice adds no second listener.
    """
    if table.info.get("append_only"):
        return
    table.info["append_only"] = True
    for statement in postgresql_create(table.name):
        event.listen(table, "after_create", _ddl(statement, "postgresql"))
    for statement in sqlite_create(table.name):
        event.listen(table, "after_create", _ddl(statement, "sqlite"))
