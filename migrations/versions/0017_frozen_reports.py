"""frozen reports: a period's figures as they stood when a manager froze them

``frozen_reports``: the figures, breakdowns and definitions of a period as JSON, its 截至 time, who froze it
and its version (a later freeze of the same period is a new row); append-only like the requests' events (the
statements of ``hotline/tickets/append_only.py`` as of this revision).

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-20 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

POSTGRESQL_FUNCTION = """\
CREATE OR REPLACE FUNCTION hotline_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END;
$$"""


def upgrade():
    op.create_table(
        "frozen_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("breakdowns", sa.JSON(), nullable=False),
        sa.Column("definitions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_frozen_reports_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frozen_reports")),
    )
    with op.batch_alter_table("frozen_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_frozen_reports_period", ["period_start", "period_end", "version"], unique=False
        )
    if op.get_context().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for operation in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER trg_frozen_reports_refuse_{operation} BEFORE {operation.upper()} ON frozen_reports "
                "FOR EACH ROW EXECUTE FUNCTION hotline_refuse_change()"
            )
    else:
        for operation in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER trg_frozen_reports_refuse_{operation} BEFORE {operation.upper()} ON frozen_reports "
                "BEGIN SELECT RAISE(ABORT, 'frozen_reports is append-only'); END"
            )


def downgrade():
    on_table = " ON frozen_reports" if op.get_context().dialect.name == "postgresql" else ""
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS trg_frozen_reports_refuse_{operation}{on_table}")
    with op.batch_alter_table("frozen_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_frozen_reports_period")
    op.drop_table("frozen_reports")
