"""The figures' monthly rollup: one row per (local month of creation, street, building, category, channel,
liaison) holding the additive counters of the *closed* requests of that cell.

Closed is final (DESIGN §4), so the counters of a closed request never change once it is in its cell; every
other request of a cohort is read live from ``tickets`` (see :mod:`hotline.stats.queries`).  The rows are kept
in step by :mod:`hotline.stats.rollup` inside the transaction that changes the request.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.extensions import db


class StatsCell(db.Model):  # type: ignore[name-defined]
    __tablename__ = "stats_cells"
    __table_args__ = (
        Index(
            "uq_stats_cells_key",
            "month",
            "street_id",
            "building_id",
            "category_id",
            "channel",
            "liaison_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # first local (Asia/Shanghai) day of the creation month
    # Plain ids, 0 for "none" (a unique key needs non-null columns); no foreign keys: a rollup row must never
    # block deleting a building or a user, and its labels are looked up when shown.
    street_id: Mapped[int] = mapped_column(Integer)
    building_id: Mapped[int] = mapped_column(Integer)
    category_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(24))
    liaison_id: Mapped[int] = mapped_column(Integer)

    total: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    basically_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    dissatisfied: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_on_time: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_late: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_untimed: Mapped[int] = mapped_column(Integer, default=0)
    resolved_on_time: Mapped[int] = mapped_column(Integer, default=0)
    resolved_untimed: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    handling_minutes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # issue 11 (migration 0014)
    first_satisfied: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rated_by_enterprise: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rated_by_followup: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unrated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    returned_late: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
