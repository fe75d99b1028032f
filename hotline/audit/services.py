"""Writing and searching the audit log.

:func:`record` is the one way in: each audited service calls it once, in its own transaction, so an entry
exists exactly when the change it describes was committed (a refused change rolls back its entry too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, literal, or_, select

from hotline.audit.models import AuditAction, AuditEntry
from hotline.auth.models import Role, User
from hotline.errors import Forbidden
from hotline.extensions import db
from hotline.text import has_control_characters
from hotline.timeutil import LOCAL_TZ

TARGET_MAX = 200
READERS = frozenset({Role.ADMIN, Role.MANAGER})


def record(
    actor: User | None, action: AuditAction, target: str, details: dict[str, Any], now: datetime
) -> AuditEntry:
    """Append one entry: ``actor`` (None: the system or the command line) did ``action`` to ``target`` (a
    username, a day, a category's code …, cut to 200 characters), with ``details`` (plain JSON values).

    Raises nothing of its own; the entry is flushed with the change it describes, never committed here.
    """
    entry = AuditEntry(
        created_at=now,
        actor_id=actor.id if actor is not None else None,
        actor_username=actor.username if actor is not None else "",
        actor_name=actor.name if actor is not None else "",
        actor_role=actor.role.value if actor is not None else "",
        action=AuditAction(action).value,
        target=str(target)[:TARGET_MAX],
        details=details,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class AuditSearch:
    """What the log is searched by; every part optional.  ``actor`` matches a username or a name, ``target``
    any part of the target, ``start``/``end`` are local days, both included."""

    actor: str = ""
    action: str | None = None
    target: str = ""
    start: date | None = None
    end: date | None = None


def require_reader(actor: User) -> None:
    """Raises :class:`Forbidden` unless ``actor`` is an administrator or a manager."""
    if actor.role not in READERS:
        raise Forbidden(_("Only administrators and managers may read the audit log."))


def _contains(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(criteria: AuditSearch, actor: User) -> Select[tuple[AuditEntry]]:
    """The entries matching ``criteria``, newest first (to paginate).  Raises :class:`Forbidden` unless
    ``actor`` may read the log (:func:`require_reader`)."""
    require_reader(actor)
    query = select(AuditEntry)
    who = criteria.actor.strip()
    if who and not has_control_characters(who, multiline=False):
        pattern = _contains(who)
        query = query.where(
            or_(
                AuditEntry.actor_username.ilike(pattern, escape="\\"),
                AuditEntry.actor_name.ilike(pattern, escape="\\"),
            )
        )
    if criteria.action:
        query = query.where(AuditEntry.action == AuditAction(criteria.action).value)
    what = criteria.target.strip()
    if what and not has_control_characters(what, multiline=False):
        query = query.where(AuditEntry.target.ilike(_contains(what), escape="\\"))
    # days far outside any entry's are no bound at all (year 1 or 9999 would overflow the driver's dates)
    if criteria.start is not None and criteria.start.year >= 1900:
        query = query.where(AuditEntry.created_at >= datetime.combine(criteria.start, time(0), LOCAL_TZ))
    if criteria.end is not None and criteria.end.year < 1900:
        query = query.where(literal(False))  # nothing was logged before the system existed
    elif criteria.end is not None and criteria.end.year <= 2999:
        after = criteria.end + timedelta(days=1)
        query = query.where(AuditEntry.created_at < datetime.combine(after, time(0), LOCAL_TZ))
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
