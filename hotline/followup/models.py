"""One row per follow-up call (回访), answered or not: append-only, like the request events (DESIGN §4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.auth.models import User
from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db
from hotline.tickets import append_only
from hotline.tickets.models import FollowupOutcome, RatingScore, _enum


class FollowupCall(db.Model):  # type: ignore[name-defined]
    """A call to the enterprise about a resolved request it did not rate.

    ``called_at`` is when the call was made (the caller may record it afterwards: ``recorded_at``);
    ``attempt`` counts the calls since the request's latest resolution from 1 (reopened and resolved again,
    it is followed up afresh).  A call that reached someone holds whom (``contact``),
    the outcome they stated and their satisfaction, and the rating it made (``rating_id``); an unanswered
    one holds only a note.
    """

    __tablename__ = "followup_calls"
    __table_args__ = (Index("ix_followup_calls_ticket", "ticket_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    caller_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reached: Mapped[bool] = mapped_column(Boolean)
    contact: Mapped[str] = mapped_column(String(50), default="")
    outcome: Mapped[FollowupOutcome | None] = mapped_column(_enum(FollowupOutcome))
    score: Mapped[RatingScore | None] = mapped_column(_enum(RatingScore))
    comment: Mapped[str] = mapped_column(Text, default="")
    rating_id: Mapped[int | None] = mapped_column(ForeignKey("ratings.id"))

    caller: Mapped[User] = relationship()


append_only.install(FollowupCall.__table__)
