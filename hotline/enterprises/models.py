"""Streets, buildings, enterprises, district departments and liaison coverage."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db

if TYPE_CHECKING:
    from hotline.auth.models import User


class Street(db.Model):  # type: ignore[name-defined]
    """街道: a sub-district; buildings belong to one."""

    __tablename__ = "streets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(100), default="")
    # a street no longer served keeps its buildings and requests; no new building is put in it
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    buildings: Mapped[list[Building]] = relationship(back_populates="street", order_by="Building.name")


class Building(db.Model):  # type: ignore[name-defined]
    """楼宇: an office building covered by liaisons."""

    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    # an inactive building is offered to no new enterprise; its enterprises and requests stay as they are
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    street: Mapped[Street] = relationship(back_populates="buildings")
    coverages: Mapped[list[Coverage]] = relationship(back_populates="building")


class CoverageRole(enum.StrEnum):
    PRIMARY = "primary"
    DEPUTY = "deputy"


_ACTIVE_PRIMARY = text("active AND role = 'primary'")


class Coverage(db.Model):  # type: ignore[name-defined]
    """包联: a liaison covering a building, as its primary liaison or a deputy.

    A coverage is never deleted: ending it sets ``active`` false and ``ended_at``, so who covered which
    building when stays readable (moving one ends it and starts another).  The database holds the two rules:
    one active primary per building, and one active coverage per liaison and building.
    """

    __tablename__ = "coverages"
    __table_args__ = (
        Index("ix_coverages_building_role", "building_id", "role", "active"),
        Index(
            "uq_coverages_one_primary",
            "building_id",
            unique=True,
            sqlite_where=_ACTIVE_PRIMARY,
            postgresql_where=_ACTIVE_PRIMARY,
        ),
        Index(
            "uq_coverages_liaison_building",
            "building_id",
            "liaison_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    liaison_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    role: Mapped[CoverageRole] = mapped_column(
        Enum(CoverageRole, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    liaison: Mapped[User] = relationship(foreign_keys=[liaison_id])
    building: Mapped[Building] = relationship(back_populates="coverages")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])


class Department(db.Model):  # type: ignore[name-defined]
    """职能部门: a district bureau requests can be transferred to."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Enterprise(db.Model):  # type: ignore[name-defined]
    """企业: identified by its 统一社会信用代码; located in one building."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    room: Mapped[str] = mapped_column(String(50), default="")
    industry: Mapped[str] = mapped_column(String(100), default="")
    # the contact person the district's own list names (an import): who is expected to register for it
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # use_alter: users and enterprises refer to each other, so this key is added after both tables exist.
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))

    building: Mapped[Building] = relationship()
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class ClaimState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class EnterpriseClaim(db.Model):  # type: ignore[name-defined]
    """A self-registration of a code already registered: someone says they speak for that enterprise.

    The claimant's account exists from the start but is attached to no enterprise (``users.enterprise_id``
    stays NULL), so it sees none of the enterprise's requests; the building's liaison or a manager confirms
    the claim (the account becomes a contact of the enterprise) or rejects it, with a note.  What the
    claimant typed as the enterprise's name and building is kept for the reviewer to compare.
    """

    __tablename__ = "enterprise_claims"
    __table_args__ = (Index("ix_enterprise_claims_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[ClaimState] = mapped_column(
        Enum(ClaimState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=ClaimState.PENDING,
    )
    claimed_name: Mapped[str] = mapped_column(String(200), default="")
    claimed_building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    enterprise: Mapped[Enterprise] = relationship()
    claimant: Mapped[User] = relationship(foreign_keys=[user_id])
    claimed_building: Mapped[Building | None] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# Search finds requests by their enterprise's name, Chinese substrings included (issue 9, point 4): trigram
# and bigram GIN indexes on PostgreSQL, an FTS5 table kept by triggers on SQLite
# (hotline/tickets/search_index.py).
from hotline.tickets import search_index  # noqa: E402  (after the models: it needs their columns)

search_index.postgresql_indexes(Enterprise.__table__.c.name, "ix_enterprises_name")
search_index.install(Enterprise.__table__, search_index.ENTERPRISE_FIELDS)
