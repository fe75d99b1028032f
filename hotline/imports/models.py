"""An uploaded spreadsheet of the district's lists, kept from its dry run to its application (and after, as
the record of who imported what, when)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db

if TYPE_CHECKING:
    from hotline.auth.models import User


class ImportKind(enum.StrEnum):
    """What a file lists, in the order a district sets itself up."""

    STREETS = "streets"
    BUILDINGS = "buildings"
    LIAISONS = "liaisons"
    ENTERPRISES = "enterprises"
    COVERAGE = "coverage"


class ImportFile(db.Model):  # type: ignore[name-defined]
    """One uploaded file: its bytes (bounded by the upload limit), the counts of its last dry run, and when
    it was applied (once)."""

    __tablename__ = "import_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(
        Enum(ImportKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    filename: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # what its dry run said, row by row (a digest): applying it refuses when the plan is no longer that
    plan_digest: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User] = relationship()
