"""meetings and visits: the liaisons' field work (issue 12)

Meetings (政企早茶会, 恳谈会) with the buildings they serve, the departments that attend, the enterprises
invited (their answers and attendance) and the questions they send in advance; visits (走访); and
ticket_origins, the meeting or visit a request was raised at (a table of its own: the tickets row is
left as it is, no rewrite of a million rows, no new index on every filing).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 18:31:17.505563

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("tea_meeting", "roundtable", name="meetingkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("scheduled", "held", "cancelled", name="meetingstate", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_meetings_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_meetings_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(["host_id"], ["users.id"], name=op.f("fk_meetings_host_id_users")),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_meetings_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index("ix_meetings_host_starts", ["host_id", "starts_at"], unique=False)
        batch_op.create_index("ix_meetings_starts", ["starts_at"], unique=False)

    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("liaison_id", sa.Integer(), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("met", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_visits_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_visits_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_visits_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(["liaison_id"], ["users.id"], name=op.f("fk_visits_liaison_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_building_day", ["building_id", "visited_on"], unique=False)
        batch_op.create_index("ix_visits_enterprise_day", ["enterprise_id", "visited_on"], unique=False)
        batch_op.create_index("ix_visits_liaison_day", ["liaison_id", "visited_on"], unique=False)
        batch_op.create_index("ix_visits_day", ["visited_on", "enterprise_id"], unique=False)

    op.create_table(
        "meeting_buildings",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_meeting_buildings_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_buildings_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "building_id", name=op.f("pk_meeting_buildings")),
    )
    with op.batch_alter_table("meeting_buildings", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_buildings_building", ["building_id", "meeting_id"], unique=False)

    op.create_table(
        "meeting_departments",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_meeting_departments_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_departments_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "department_id", name=op.f("pk_meeting_departments")),
    )
    op.create_table(
        "meeting_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "response",
            sa.Enum(
                "pending", "confirmed", "declined", name="invitationresponse", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_by_id", sa.Integer(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_meeting_invitations_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_invitations_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["responded_by_id"], ["users.id"], name=op.f("fk_meeting_invitations_responded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitations")),
        sa.UniqueConstraint(
            "meeting_id", "enterprise_id", name=op.f("uq_meeting_invitations_meeting_id_enterprise_id")
        ),
    )
    with op.batch_alter_table("meeting_invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meeting_invitations_enterprise", ["enterprise_id", "meeting_id"], unique=False
        )

    op.create_table(
        "meeting_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column(
            "urgency",
            sa.Enum("normal", "urgent", name="urgency", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asked_by_id"], ["users.id"], name=op.f("fk_meeting_questions_asked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_meeting_questions_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_meeting_questions_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_questions_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_meeting_questions_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_questions")),
    )
    with op.batch_alter_table("meeting_questions", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_questions_meeting", ["meeting_id", "enterprise_id"], unique=False)

    op.create_table(
        "ticket_origins",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("answered_on_the_spot", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(meeting_id IS NULL) <> (visit_id IS NULL)", name=op.f("ck_ticket_origins_one_origin")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_ticket_origins_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_origins_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_ticket_origins_visit_id_visits")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_origins")),
    )
    with op.batch_alter_table("ticket_origins", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_origins_meeting", ["meeting_id"], unique=False)
        batch_op.create_index("ix_ticket_origins_visit", ["visit_id"], unique=False)


def downgrade():
    with op.batch_alter_table("ticket_origins", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_origins_visit")
        batch_op.drop_index("ix_ticket_origins_meeting")

    op.drop_table("ticket_origins")
    with op.batch_alter_table("meeting_questions", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_questions_meeting")

    op.drop_table("meeting_questions")
    with op.batch_alter_table("meeting_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_invitations_enterprise")

    op.drop_table("meeting_invitations")
    op.drop_table("meeting_departments")
    with op.batch_alter_table("meeting_buildings", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_buildings_building")

    op.drop_table("meeting_buildings")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_day")
        batch_op.drop_index("ix_visits_liaison_day")
        batch_op.drop_index("ix_visits_enterprise_day")
        batch_op.drop_index("ix_visits_building_day")

    op.drop_table("visits")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_starts")
        batch_op.drop_index("ix_meetings_host_starts")

    op.drop_table("meetings")
