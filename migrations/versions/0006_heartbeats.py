"""heartbeats, task counts, and the request id of outbox messages

``heartbeats``: the last sign of life of each worker, beat, the heartbeat task and the clock sweep (hotline/ops),
read by /readyz, the managers' banner and /metrics.  ``task_counts``: task runs, failures and retries added up
by the workers, for /metrics.  ``outbox_messages.request_id``: the web request that wrote a message, sent as a
task header when the message is published, so that the worker's log lines name it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "heartbeats",
        sa.Column(
            "component",
            sa.Enum("worker", "tasks", "beat", "sweep", name="component", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("component", "name", name=op.f("pk_heartbeats")),
    )
    op.create_table(
        "task_counts",
        sa.Column("task_name", sa.String(length=200), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("retries", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_name", name=op.f("pk_task_counts")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("request_id")
    op.drop_table("task_counts")
    op.drop_table("heartbeats")
