"""audit log: audit_entries, append-only like the request events

Who changed accounts and roles, the calendar, the categories' clocks, the coverage, which imports were
applied and who downloaded which export (issue 11, point 6).  The table is append-only: the function
hotline_refuse_change() of revision 0004 (CREATE OR REPLACE: the same text, so re-creating it is harmless and
this revision does not depend on it surviving) is called by a BEFORE UPDATE and a BEFORE DELETE trigger on
PostgreSQL; on SQLite two triggers RAISE(ABORT, ...).  The statements are a copy of
hotline/tickets/append_only.py as of this revision (see 0004 for why a copy).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-22 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLE = "audit_entries"
OPERATIONS = ("update", "delete")

POSTGRESQL_FUNCTION = """\
CREATE OR REPLACE FUNCTION hotline_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END;
$$"""


def _trigger(operation):
    return f"trg_{TABLE}_refuse_{operation}"


def upgrade():
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_entries_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_action_created", ["action", "created_at"], unique=False)
        batch_op.create_index("ix_audit_entries_actor_created", ["actor_id", "created_at"], unique=False)
        batch_op.create_index("ix_audit_entries_created", ["created_at", "id"], unique=False)
    # after the batch: a batch that recreated the table would drop triggers made before it
    dialect = op.get_context().dialect.name  # also in offline (--sql) mode
    if dialect == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
    for operation in OPERATIONS:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {_trigger(operation)} BEFORE {operation.upper()} ON {TABLE} "
                f"FOR EACH ROW EXECUTE FUNCTION hotline_refuse_change()"
            )
        elif dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {_trigger(operation)} BEFORE {operation.upper()} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
            )
        else:
            raise NotImplementedError(f"append-only triggers are written for PostgreSQL and SQLite, not {dialect}")


def downgrade():
    # dropping the table drops its triggers; the function stays (revision 0004's, still used by its tables)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_created")
        batch_op.drop_index("ix_audit_entries_actor_created")
        batch_op.drop_index("ix_audit_entries_action_created")
    op.drop_table(TABLE)
