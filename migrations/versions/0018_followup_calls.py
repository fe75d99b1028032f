"""follow-up calls: followup_calls, append-only like the request events

One row per 回访 call to an enterprise that did not rate a resolved request (issue 11, point 1): when, who
called, whether anyone answered, whom, the outcome and satisfaction they stated, and the rating it made.
Append-only: the function hotline_refuse_change() (CREATE OR REPLACE, the same text as revision 0004's) is
called by a BEFORE UPDATE and a BEFORE DELETE trigger on PostgreSQL; on SQLite two triggers RAISE(ABORT, ...).
The statements are a copy of hotline/tickets/append_only.py as of this revision (see 0004 for why a copy).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLE = "followup_calls"
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
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_id", sa.Integer(), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("contact", sa.String(length=50), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("solved", "unsolved", name="followupoutcome", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column(
            "score",
            sa.Enum(
                "satisfied",
                "basically_satisfied",
                "dissatisfied",
                name="ratingscore",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rating_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["caller_id"], ["users.id"], name=op.f("fk_followup_calls_caller_id_users")),
        sa.ForeignKeyConstraint(["rating_id"], ["ratings.id"], name=op.f("fk_followup_calls_rating_id_ratings")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_followup_calls_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_calls")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index("ix_followup_calls_ticket", ["ticket_id", "attempt"], unique=False)
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
        batch_op.drop_index("ix_followup_calls_ticket")
    op.drop_table(TABLE)
