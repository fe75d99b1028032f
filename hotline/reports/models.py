"""A frozen report: the figures of a period as they stood when a manager froze them (issue 11, point 5)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import UTCDateTime
from hotline.extensions import db
from hotline.i18n import current_locale
from hotline.tickets import append_only

if TYPE_CHECKING:
    from hotline.auth.models import User


class FrozenReport(db.Model):  # type: ignore[name-defined]
    """Every figure of a period (its first day to its last, both included), the breakdowns by street, category
    and channel (each row's label in Chinese and in English), the definitions in force, the moment they were
    counted (截至, ``as_of``) and who froze them.  Never changed: a later freeze of the same period is a new
    version beside it (the database refuses UPDATE and DELETE, as for the requests' events)."""

    __tablename__ = "frozen_reports"
    __table_args__ = (Index("ix_frozen_reports_period", "period_start", "period_end", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # its last day, included
    version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    breakdowns: Mapped[dict[str, Any]] = mapped_column(JSON)
    definitions: Mapped[dict[str, Any]] = mapped_column(JSON)

    created_by: Mapped[User] = relationship()

    @property
    def readable_breakdowns(self) -> dict[str, list[dict[str, Any]]]:
        """The breakdowns as they are read: each row's ``label`` in the reader's language beside the two
        kept (``label_zh``, ``label_en``), its ``key`` and ``figures``.

        A report frozen before both languages were kept has one ``label`` per row, in the language of the
        manager who froze it: it is shown as it is, and ``label_zh`` / ``label_en`` are None.
        """
        english = current_locale() == "en"
        out: dict[str, list[dict[str, Any]]] = {}
        for dimension, rows in self.breakdowns.items():
            out[dimension] = []
            for row in rows:
                zh, en = row.get("label_zh"), row.get("label_en")
                if zh is None and en is None:
                    label = str(row.get("label", ""))
                else:
                    label = str((en or zh) if english else (zh or en))
                out[dimension].append(
                    {
                        "key": row.get("key"),
                        "label": label,
                        "label_zh": zh,
                        "label_en": en,
                        "figures": row.get("figures", {}),
                    }
                )
        return out


append_only.install(FrozenReport.__table__)
