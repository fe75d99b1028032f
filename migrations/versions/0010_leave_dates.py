"""the dates of a liaison's leave

``users.leave_from`` and ``users.leave_until``: a leave a manager sets for a liaison (both days included, in
Asia/Shanghai); routing skips the liaison within them, as it does a liaison who said it is on leave
(``available`` false).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-17 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leave_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("leave_until", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("leave_until")
        batch_op.drop_column("leave_from")
