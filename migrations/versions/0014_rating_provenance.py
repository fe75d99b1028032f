"""rating provenance, the first rating, late returns, and their rollup counters

``ratings.source`` (``enterprise`` / ``followup_call``): existing rows are backfilled by the recorder's role
(a rating recorded by anyone but an enterprise contact was a phone follow-up).  ``ratings`` is append-only,
so the backfill lifts its UPDATE trigger for that one statement and puts it back as revision 0004 made it.
The column is added in place (``ALTER TABLE ADD COLUMN``), never through a batch copy that would drop the
triggers.

``tickets``: ``rating_source`` (the latest rating's), ``first_rating_score``, ``late_returns`` (signing clocks
stopped by a return after their deadline; past returns cannot be judged afterwards, their deadline was
overwritten by the next assignment, so they start at 0).  The covering indexes take the new columns.

``stats_cells``: ``first_satisfied``, ``rated_by_enterprise``, ``rated_by_followup``, ``unrated``,
``returned_late``, filled from the closed requests of each cell: one pass over the closed requests grouped
into cells as revision 0003 groups them, joined to the cells in one ``UPDATE … FROM`` (PostgreSQL, and
SQLite from 3.33), not a count per cell and column.

The dialect is the migration context's (``op.get_context().dialect``), so ``flask db upgrade --sql`` writes
the same statements offline, with no database to ask.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-21 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LIVE_WHERE = "state IN ('submitted', 'assigned', 'in_progress', 'returned', 'resolved')"
OLD_LIVE_INCLUDE = [
    "state",
    "street_id",
    "building_id",
    "category_id",
    "channel",
    "assignee_id",
    "acknowledged_at",
    "acknowledge_due_at",
    "resolved_at",
    "resolve_due_at",
    "rating_score",
    "reopen_count",
    "handling_minutes",
]
OLD_LIST_FILTER_COLUMNS = [
    "state",
    "enterprise_id",
    "building_id",
    "street_id",
    "category_id",
    "channel",
    "assignee_id",
    "department_id",
    "acknowledged_at",
    "acknowledge_due_at",
    "resolved_at",
    "resolve_due_at",
    "rating_score",
    "reopen_count",
    "handling_minutes",
]
NEW_COLUMNS = ["rating_source", "first_rating_score", "late_returns"]
CELL_COLUMNS = {
    # the condition on a closed request (tickets aliased t) to be counted in the cell's column
    "first_satisfied": "t.first_rating_score IN ('satisfied', 'basically_satisfied')",
    "rated_by_enterprise": "t.rating_score IS NOT NULL AND t.rating_source = 'enterprise'",
    "rated_by_followup": "t.rating_score IS NOT NULL AND t.rating_source = 'followup_call'",
    "unrated": "t.rating_score IS NULL",
    "returned_late": "t.late_returns > 0",
}


def _dialect():
    """The database's dialect name, known offline too (``--sql``: no connection to ask)."""
    return op.get_context().dialect.name


def _recreate_indexes(include_extra):
    """The two covering indexes with (or without) the new columns; only PostgreSQL has INCLUDE."""
    if _dialect() != "postgresql":
        return
    op.drop_index("ix_tickets_live_created", table_name="tickets")
    op.create_index(
        "ix_tickets_live_created",
        "tickets",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text(LIVE_WHERE),
        postgresql_include=OLD_LIVE_INCLUDE + include_extra,
    )
    op.drop_index("ix_tickets_created_cover", table_name="tickets")
    op.create_index(
        "ix_tickets_created_cover",
        "tickets",
        ["created_at", "id"],
        unique=False,
        postgresql_include=OLD_LIST_FILTER_COLUMNS + include_extra,
    )


def _local_month(column, dialect):
    """The first local (Asia/Shanghai) day of the month of a UTC timestamp, as revision 0003 computes it."""
    if dialect == "postgresql":
        return f"CAST(date_trunc('month', {column} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
    return f"date({column}, '+8 hours', 'start of month')"


def _backfill_cells(dialect):
    """The new counters of every cell from its closed requests, in one statement.

    The closed requests are grouped into cells once (the keys of revision 0003's rebuild: local month of
    creation, street or 0, building, category, channel, assignee or 0), each new counter a sum over the
    group, and the sums written to the matching cells.  A cell without a match keeps the columns' default,
    0, as it has no closed request to count (the rollup holds closed requests only).
    """
    keys = {
        "month": _local_month("t.created_at", dialect),
        "street_id": "coalesce(t.street_id, 0)",
        "building_id": "t.building_id",
        "category_id": "t.category_id",
        "channel": "t.channel",
        "liaison_id": "coalesce(t.assignee_id, 0)",
    }
    selected = ", ".join(
        [f"{expression} AS {name}" for name, expression in keys.items()]
        + [f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {name}" for name, condition in CELL_COLUMNS.items()]
    )
    if dialect == "sqlite" and not op.get_context().as_sql:
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 33, 0):  # UPDATE … FROM came in SQLite 3.33 (2020)
            raise RuntimeError(
                f"this migration needs SQLite 3.33 or later (UPDATE … FROM); this Python has "
                f"{sqlite3.sqlite_version}: use a newer Python build, or PostgreSQL"
            )
    sets = ", ".join(f"{name} = c.{name}" for name in CELL_COLUMNS)
    matched = " AND ".join(f"stats_cells.{name} = c.{name}" for name in keys)
    op.execute(
        f"UPDATE stats_cells SET {sets} "
        f"FROM (SELECT {selected} FROM tickets t WHERE t.state = 'closed' "
        f"GROUP BY {', '.join(keys.values())}) AS c "
        f"WHERE {matched}"
    )


def upgrade():
    dialect = _dialect()
    op.add_column(
        "ratings", sa.Column("source", sa.String(length=24), server_default="enterprise", nullable=False)
    )
    if dialect == "postgresql":
        op.execute("ALTER TABLE ratings DISABLE TRIGGER trg_ratings_refuse_update")
    else:
        op.execute("DROP TRIGGER trg_ratings_refuse_update")
    op.execute(
        "UPDATE ratings SET source = 'followup_call' "
        "WHERE rated_by_id IN (SELECT id FROM users WHERE role <> 'enterprise')"
    )
    if dialect == "postgresql":
        op.execute("ALTER TABLE ratings ENABLE TRIGGER trg_ratings_refuse_update")
    else:
        op.execute(
            "CREATE TRIGGER trg_ratings_refuse_update BEFORE UPDATE ON ratings "
            "BEGIN SELECT RAISE(ABORT, 'ratings is append-only'); END"
        )

    op.add_column("tickets", sa.Column("rating_source", sa.String(length=24), nullable=True))
    op.add_column("tickets", sa.Column("first_rating_score", sa.String(length=24), nullable=True))
    op.add_column("tickets", sa.Column("late_returns", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE tickets SET "
        "rating_source = (SELECT r.source FROM ratings r WHERE r.ticket_id = tickets.id "
        "ORDER BY r.id DESC LIMIT 1), "
        "first_rating_score = (SELECT r.score FROM ratings r WHERE r.ticket_id = tickets.id "
        "ORDER BY r.id LIMIT 1) "
        "WHERE EXISTS (SELECT 1 FROM ratings r WHERE r.ticket_id = tickets.id)"
    )
    _recreate_indexes(NEW_COLUMNS)

    for name in CELL_COLUMNS:
        op.add_column("stats_cells", sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    _backfill_cells(dialect)


def downgrade():
    for name in reversed(list(CELL_COLUMNS)):
        op.drop_column("stats_cells", name)
    _recreate_indexes([])
    op.drop_column("tickets", "late_returns")
    op.drop_column("tickets", "first_rating_score")
    op.drop_column("tickets", "rating_source")
    op.drop_column("ratings", "source")
