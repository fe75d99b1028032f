"""a district sets itself up: English names and retirement of streets, history of coverage, imports

``streets.name_en`` and ``streets.active``, ``buildings.name_en``; ``coverages.created_by_id``,
``coverages.ended_at`` and ``coverages.ended_by_id`` (a coverage is ended, never deleted, so who covered
what and when stays readable); two partial unique indexes: one active primary per building, one active
coverage per liaison and building.  Rows that broke those rules before (only possible by hand) are made to
keep them first: a second active coverage of the same liaison and building is ended (the primary one kept),
and every active primary of a building but the oldest becomes a deputy.

``enterprises.contact_name`` and ``enterprises.contact_phone``: the contact an imported list names.
``import_files``: an uploaded spreadsheet kept from its dry run to its application, and as its record.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-18 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ACTIVE_PRIMARY = sa.text("active AND role = 'primary'")


def upgrade():
    with op.batch_alter_table("streets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=100), nullable=False, server_default=""))

    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_name", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=32), nullable=False, server_default=""))
    op.create_table(
        "import_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "streets",
                "buildings",
                "liaisons",
                "enterprises",
                "coverage",
                name="importkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("plan_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_import_files_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_files")),
    )
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_files_created_by_id"), ["created_by_id"], unique=False)

    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ended_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_coverages_created_by_id_users"), "users", ["created_by_id"], ["id"]
        )
        batch_op.create_foreign_key(batch_op.f("fk_coverages_ended_by_id_users"), "users", ["ended_by_id"], ["id"])
    op.execute(
        "UPDATE coverages SET active = false, ended_at = CURRENT_TIMESTAMP WHERE active AND EXISTS"
        " (SELECT 1 FROM coverages other WHERE other.active AND other.building_id = coverages.building_id"
        " AND other.liaison_id = coverages.liaison_id AND other.id <> coverages.id"
        " AND (other.role = 'primary' AND coverages.role = 'deputy'"
        " OR other.role = coverages.role AND other.id < coverages.id))"
    )
    op.execute(
        "UPDATE coverages SET role = 'deputy' WHERE active AND role = 'primary' AND EXISTS (SELECT 1"
        " FROM coverages other WHERE other.active AND other.role = 'primary'"
        " AND other.building_id = coverages.building_id AND other.id < coverages.id)"
    )
    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.create_index(
            "uq_coverages_one_primary",
            ["building_id"],
            unique=True,
            sqlite_where=ACTIVE_PRIMARY,
            postgresql_where=ACTIVE_PRIMARY,
        )
        batch_op.create_index(
            "uq_coverages_liaison_building",
            ["building_id", "liaison_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )


def downgrade():
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_files_created_by_id"))
    op.drop_table("import_files")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_name")
    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.drop_index("uq_coverages_liaison_building")
        batch_op.drop_index("uq_coverages_one_primary")
        batch_op.drop_constraint(batch_op.f("fk_coverages_ended_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_coverages_created_by_id_users"), type_="foreignkey")
        batch_op.drop_column("ended_by_id")
        batch_op.drop_column("ended_at")
        batch_op.drop_column("created_by_id")
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.drop_column("name_en")
    with op.batch_alter_table("streets", schema=None) as batch_op:
        batch_op.drop_column("active")
        batch_op.drop_column("name_en")
