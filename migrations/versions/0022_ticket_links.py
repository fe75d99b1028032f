"""ticket links: related (not merged) requests shown on each other (issue 13)

One row per pair, the smaller id first; an index on the second id for the reverse look-up.  并单 itself needs
no schema change (tickets.merged_into_id exists; the new event kinds fit the existing columns).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 19:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_links",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("linked_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ticket_id < linked_id", name=op.f("ck_ticket_links_ordered")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_ticket_links_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["linked_id"], ["tickets.id"], name=op.f("fk_ticket_links_linked_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_links_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", "linked_id", name=op.f("pk_ticket_links")),
    )
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_links_linked", ["linked_id", "ticket_id"], unique=False)


def downgrade():
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_links_linked")
    op.drop_table("ticket_links")
