"""knowledge base: kb_articles, kb_deflections

Policy answers as articles (issue 13 point 4), one language each, with the policy document they rest on and a
validity date; and the deflections ("this answered my question": a request avoided), counted on the dashboard.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 20:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "language",
            sa.Enum("zh", "en", name="articlelanguage", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.String(length=200), nullable=False),
        sa.Column("policy_title", sa.String(length=200), nullable=False),
        sa.Column("policy_number", sa.String(length=100), nullable=False),
        sa.Column("policy_url", sa.String(length=500), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("source_ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_kb_articles_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_kb_articles_owner_id_users")),
        sa.ForeignKeyConstraint(
            ["source_ticket_id"], ["tickets.id"], name=op.f("fk_kb_articles_source_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index("ix_kb_articles_owner", ["owner_id", "valid_until"], unique=False)
        batch_op.create_index("ix_kb_articles_public", ["published", "language", "valid_until"], unique=False)

    op.create_table(
        "kb_deflections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name=op.f("fk_kb_deflections_article_id_kb_articles")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_kb_deflections_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_deflections")),
    )
    with op.batch_alter_table("kb_deflections", schema=None) as batch_op:
        batch_op.create_index("ix_kb_deflections_created", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("kb_deflections", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_deflections_created")
    op.drop_table("kb_deflections")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_public")
        batch_op.drop_index("ix_kb_articles_owner")
    op.drop_table("kb_articles")
