"""reply templates: reply_templates (issue 13, point 5)

Staff's reply templates (常用回复): personal or shared, optionally of a category, archived rather than
deleted.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 20:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reply_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_reply_templates_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_reply_templates_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_templates")),
    )
    with op.batch_alter_table("reply_templates", schema=None) as batch_op:
        batch_op.create_index("ix_reply_templates_owner", ["owner_id", "archived_at"], unique=False)
        batch_op.create_index("ix_reply_templates_shared", ["shared", "archived_at"], unique=False)


def downgrade():
    with op.batch_alter_table("reply_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_templates_shared")
        batch_op.drop_index("ix_reply_templates_owner")
    op.drop_table("reply_templates")
