"""the request number in byte order, for a search by the start of a number (PostgreSQL)

``ix_tickets_number_c`` on ``(number COLLATE "C")``: a search for ``QH2026…`` walks this range newest first
(hotline/tickets/search.py, ``_by_number``).  The unique index on ``number`` follows the database's collation,
in which the range of a prefix need not be its numbers; SQLite searches numbers with LIKE and needs none.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 12:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        # CONCURRENTLY: filing goes on while a large table's index is built (outside the transaction)
        with op.get_context().autocommit_block():
            op.execute('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_tickets_number_c ON tickets ((number COLLATE "C"))')


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_number_c")
