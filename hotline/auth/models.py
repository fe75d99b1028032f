"""Users, their roles, login sessions and API tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ColumnElement, Date, Enum, ForeignKey, String, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import UTCDateTime, utcnow
from hotline.extensions import db

if TYPE_CHECKING:
    from hotline.enterprises.models import Department, Enterprise


class Role(enum.StrEnum):
    ENTERPRISE = "enterprise"
    LIAISON = "liaison"
    DEPARTMENT = "department"
    MANAGER = "manager"
    ADMIN = "admin"


def _values(e: type[enum.Enum]) -> list[str]:
    return [m.value for m in e]


class User(db.Model):  # type: ignore[name-defined]
    """Anyone who logs in.

    An enterprise contact has ``enterprise_id``; department staff have ``department_id``.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16, values_callable=_values))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A liaison on leave is skipped by routing (DESIGN §6): on leave by its own word (``available`` false,
    # until it says it is back), or within the dates a manager set (both days included).
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    leave_from: Mapped[date | None] = mapped_column(Date)
    leave_until: Mapped[date | None] = mapped_column(Date)
    locale: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enterprise: Mapped[Enterprise | None] = relationship(foreign_keys=[enterprise_id])
    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])

    def away_on(self, day: date) -> bool:
        """On leave on ``day`` (Asia/Shanghai): by its own word, or within the dates a manager set."""
        if not self.available:
            return True
        return (
            self.leave_from is not None
            and self.leave_until is not None
            and (self.leave_from <= day <= self.leave_until)
        )

    @classmethod
    def present_on(cls, day: date) -> ColumnElement[bool]:
        """SQL: the user is not on leave on ``day`` (see :meth:`away_on`)."""
        outside = or_(
            cls.leave_from.is_(None), cls.leave_until.is_(None), cls.leave_from > day, cls.leave_until < day
        )
        return and_(cls.available.is_(True), outside)

    # Flask-Login protocol.  The id kept in the cookie is the key of a LoginSession row, not the user id,
    # so that logging out (deleting the row) invalidates every copy of the cookie.
    @property
    def session_key(self) -> str | None:
        return self.__dict__.get("_session_key")

    @session_key.setter
    def session_key(self, key: str | None) -> None:
        self.__dict__["_session_key"] = key

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_key

    @property
    def is_staff(self) -> bool:
        """Managers and admins see everything."""
        return self.role in (Role.MANAGER, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginSession(db.Model):  # type: ignore[name-defined]
    """One signed-in browser.  Deleted at logout, so a copied cookie stops working too."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class ApiToken(db.Model):  # type: ignore[name-defined]
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class PasswordReset(db.Model):  # type: ignore[name-defined]
    """A single-use link that sets a new password; only the SHA-256 digest of its token is stored.

    Asked for by the user itself (``created_by_id`` null: the link goes out by e-mail) or issued by an
    administrator (``created_by_id``: the link is handed over in person).  It works once, until
    ``expires_at``, and only while it is the user's newest: issuing another one voids it (``revoked_at``).
    """

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set by the worker once the e-mail is handed to the SMTP server: a second delivery sends nothing
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
