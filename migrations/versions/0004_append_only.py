"""append-only: triggers refuse UPDATE and DELETE of ticket_events and ratings

Events (the timeline and audit trail) and ratings are never edited or deleted (DESIGN §4).  On PostgreSQL one
function, hotline_refuse_change(), raises '<table> is append-only' (SQLSTATE P0001) from a BEFORE UPDATE and
a BEFORE DELETE trigger on each table; on SQLite, the same two triggers per table RAISE(ABORT, ...).  INSERT
and TRUNCATE stay allowed.

The statements are a copy of hotline/tickets/append_only.py as of this revision, which is what create_all
uses, rather than an import of it: this revision must keep creating what it created when the module changes
later (a change there is a new revision).  tests/integration/test_migrations.py checks that both agree.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 10:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("ticket_events", "ratings")
OPERATIONS = ("update", "delete")

POSTGRESQL_FUNCTION = """\
CREATE OR REPLACE FUNCTION hotline_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END;
$$"""


def _trigger(table, operation):
    return f"trg_{table}_refuse_{operation}"


def upgrade():
    dialect = op.get_context().dialect.name  # also in offline (--sql) mode
    if dialect == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
    for table in TABLES:
        for operation in OPERATIONS:
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {_trigger(table, operation)} BEFORE {operation.upper()} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION hotline_refuse_change()"
                )
            elif dialect == "sqlite":
                op.execute(
                    f"CREATE TRIGGER {_trigger(table, operation)} BEFORE {operation.upper()} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
            else:
                raise NotImplementedError(
                    f"append-only triggers are written for PostgreSQL and SQLite, not {dialect}"
                )


def downgrade():
    dialect = op.get_context().dialect.name  # also in offline (--sql) mode
    for table in TABLES:
        for operation in OPERATIONS:
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, operation)} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, operation)}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hotline_refuse_change()")
