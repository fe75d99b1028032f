"""the index every list of requests pages through

``ix_tickets_assignee_state`` now includes ``building_id`` (a liaison's counts by state, index-only).
``ix_tickets_created_cover``: ``(created_at, id)``, on PostgreSQL including every column a list or a
drill-down filters on, so that a page of any list at any depth reads its ids by an index-only scan
(hotline/tickets/paging.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14 10:00:00.000000

"""

from alembic import op

# As hotline.tickets.models.LIST_FILTER_COLUMNS was when this revision was written (a migration is history).
LIST_FILTER_COLUMNS = [
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

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # a liaison's counts by state, index-only: the assignee's index now carries the building
    op.drop_index("ix_tickets_assignee_state", table_name="tickets")
    op.create_index(
        "ix_tickets_assignee_state",
        "tickets",
        ["assignee_id", "state"],
        unique=False,
        postgresql_include=["building_id"],
    )
    op.create_index(
        "ix_tickets_created_cover",
        "tickets",
        ["created_at", "id"],
        unique=False,
        postgresql_include=LIST_FILTER_COLUMNS,
    )


def downgrade():
    op.drop_index("ix_tickets_created_cover", table_name="tickets")
    op.drop_index("ix_tickets_assignee_state", table_name="tickets")
    op.create_index("ix_tickets_assignee_state", "tickets", ["assignee_id", "state"], unique=False)
