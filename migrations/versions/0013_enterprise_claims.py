"""claims on a registered enterprise

``enterprise_claims``: a self-registration of a 统一社会信用代码 that is already registered becomes a claim
(pending, confirmed or rejected) instead of a refusal; the claimant's account is attached to no enterprise
until the building's liaison or a manager confirms it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-20 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "enterprise_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_name", sa.String(length=200), nullable=False),
        sa.Column("claimed_building_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claimed_building_id"],
            ["buildings.id"],
            name=op.f("fk_enterprise_claims_claimed_building_id_buildings"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_enterprise_claims_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_enterprise_claims_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_enterprise_claims_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_claims")),
    )
    with op.batch_alter_table("enterprise_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprise_claims_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index("ix_enterprise_claims_state_created", ["state", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprise_claims_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("enterprise_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_claims_user_id"))
        batch_op.drop_index("ix_enterprise_claims_state_created")
        batch_op.drop_index(batch_op.f("ix_enterprise_claims_enterprise_id"))
    op.drop_table("enterprise_claims")
