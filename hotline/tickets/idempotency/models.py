"""The idempotency keys of the API and the one-time tokens of the filing forms, in one table."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db

KEY_MAX = 255  # the longest key a client may send (printable ASCII)


class IdempotencyScope(enum.StrEnum):
    """Where a key came from: the same string sent to the API and typed into a form are different keys."""

    API = "api"  # the Idempotency-Key header of POST /api/v1/tickets, …/meetings/<id>/requests, …/visits
    FORM = "form"  # the one-time token of the portal's and the workbench's filing forms


class IdempotencyKey(db.Model):  # type: ignore[name-defined]
    """One key of one user: the fingerprint of the call that claimed it, and once that call has filed its
    request (in the same transaction), the answer it gave.

    A call inserts its key's row, files its request and stores the answer in one transaction, so a committed
    row has its answer; until the call commits, another call's insert of the same key waits for it.  A
    committed row without ``response_status`` (left by the two-transaction protocol of before) filed
    nothing and is taken over by the next call with its key.
    """

    __tablename__ = "idempotency_keys"
    # The database decides races: two calls with the same key cannot both insert the row.
    __table_args__ = (
        UniqueConstraint("user_id", "scope", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),  # the prune job's range
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[IdempotencyScope] = mapped_column(
        Enum(IdempotencyScope, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    # sha256 (hex) of the method, the path and the canonical body; empty for form tokens
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSON)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def answered(self) -> bool:
        return self.response_status is not None
