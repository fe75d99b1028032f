"""Bodies and answers of the API's account, notification, extension, calendar and enterprise calls.

Written like :mod:`hotline.api.schemas` (whose helpers and shapes they reuse): the schemas check JSON types,
enum values and what must never reach the database, and the services decide what values mean.  Two things
are refused here for every text and id these calls read, since the database cannot take them:

- control characters (NUL above all: PostgreSQL text columns refuse it, which would be a 500);
- ids outside 1 … 2**63 - 1 (the drivers overflow past 64 bits): :func:`row_id` answers 404 instead.
"""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields

from hotline.api.schemas import (
    TIME,
    TIME_REQUIRED,
    Base,
    EnterpriseRef,
    LocalTime,
    PageArgs,
    Person,
    choice,
    clean_text,
    json_boolean,
    page_of,
    query_flag,
)
from hotline.auth.models import Role
from hotline.auth.services import EMAIL_MAX, NAME_MAX
from hotline.notifications.models import Notification, NotificationKind
from hotline.notifications.services import render_notification
from hotline.sla.models import DaySource, Extension, ExtensionState
from hotline.sla.services import NOTE_MAX, TEXT_MAX

# --------------------------------------------------------------------------- the caller's account


class Profile(Base):
    username = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    email = fields.String(required=True, metadata={"description": "Empty when none is given"})
    phone = fields.String(required=True, metadata={"description": "Empty when none is given"})
    locale = fields.Function(
        lambda u: u.locale or None,
        required=True,
        metadata={"type": ["string", "null"], "description": "zh or en; null: not chosen yet"},
    )
    available = fields.Function(
        lambda u: u.available if u.role == Role.LIAISON else None,
        required=True,
        metadata={"type": ["boolean", "null"], "description": "A liaison: false when on leave; else null"},
    )
    enterprise = fields.Nested(EnterpriseRef, required=True, allow_none=True)
    department = fields.Function(
        lambda u: u.department.code if u.department is not None else None,
        required=True,
        metadata={"type": ["string", "null"], "description": "Department staff: its code"},
    )


class ProfileUpdate(Base):
    """Any subset; an absent (or null) key leaves the value as it is."""

    name = clean_text(max_length=NAME_MAX)
    phone = clean_text(description="Like a request's contact phone; empty removes it")
    email = clean_text(max_length=EMAIL_MAX, description="Empty stops emails")
    locale = clean_text(description="zh or en")


class AvailabilityUpdate(Base):
    available = json_boolean(required=True, description="false: on leave, routing skips you")


# --------------------------------------------------------------------------- notifications


class NotificationSchema(Base):
    id = fields.Integer(required=True)
    kind = fields.Enum(NotificationKind, by_value=True, required=True)
    subject = fields.Method("_subject", required=True, metadata={"type": "string"})
    text = fields.Method(
        "_text", required=True, metadata={"type": "string", "description": "In the caller's language"}
    )
    excerpt = fields.Function(
        lambda n: (n.params or {}).get("excerpt") or None,
        required=True,
        metadata={"type": ["string", "null"], "description": "The reply, answer or reason quoted"},
    )
    ticket_number = fields.Function(
        lambda n: ((n.params or {}).get("number") or None) if n.ticket_id is not None else None,
        required=True,
        metadata={"type": ["string", "null"], "description": "The request it is about, if any"},
    )
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    read_at = LocalTime(required=True, metadata=TIME)

    def _subject(self, notification: Notification) -> str:
        return render_notification(notification)[0]

    def _text(self, notification: Notification) -> str:
        return render_notification(notification)[1]


class NotificationListArgs(PageArgs):
    unread = query_flag(description="true: only unread ones; false: only read ones; absent: all")


NotificationPage = page_of(
    NotificationSchema,
    "NotificationPage",
    unread=fields.Integer(required=True, metadata={"description": "How many of all are unread"}),
)


# --------------------------------------------------------------------------- extensions (延期)


class ExtensionWithTicket:
    """An extension and the number of its request, for :class:`ExtensionSchema`."""

    def __init__(self, extension: Extension, ticket_number: str) -> None:
        self.extension = extension
        self.ticket_number = ticket_number

    def __getattr__(self, name: str) -> Any:
        return getattr(self.extension, name)


class ExtensionSchema(Base):
    id = fields.Integer(required=True)
    ticket_number = fields.String(required=True, metadata={"examples": ["QH20260103-0001"]})
    state = fields.Enum(ExtensionState, by_value=True, required=True)
    working_days = fields.Integer(required=True, attribute="days")
    reason = fields.String(required=True)
    requested_by = fields.Nested(Person, required=True)
    created_at = LocalTime(required=True, metadata=TIME_REQUIRED)
    decided_by = fields.Nested(Person, required=True, allow_none=True)
    decided_at = LocalTime(required=True, metadata=TIME)
    decision_note = fields.String(required=True)
    old_due_at = LocalTime(required=True, metadata=TIME)
    new_due_at = LocalTime(required=True, metadata=TIME)


class ExtensionListArgs(PageArgs):
    state = choice(ExtensionState, description="pending (the default): oldest first; decided: newest first")


ExtensionPage = page_of(ExtensionSchema, "ExtensionPage")


class ExtensionDecision(Base):
    approve = json_boolean(
        required=True, description="true approves, false refuses", missing=_l("Choose approve or refuse.")
    )
    note = clean_text(max_length=TEXT_MAX, multiline=True, description="Required when refusing")


# --------------------------------------------------------------------------- the working-day calendar


class DayKind(enum.StrEnum):
    WORKDAY = "workday"
    RESTDAY = "restday"


class CalendarDaySchema(Base):
    date = fields.Function(
        lambda d: d.day.isoformat(), required=True, metadata={"type": "string", "format": "date"}
    )
    kind = fields.Function(
        lambda d: (DayKind.WORKDAY if d.is_workday else DayKind.RESTDAY).value,
        required=True,
        metadata={"type": "string", "enum": [k.value for k in DayKind]},
    )
    source = fields.Enum(
        DaySource,
        by_value=True,
        required=True,
        metadata={
            "description": "package: the official schedule; weekday: entered Monday to Friday; "
            "override: set by a manager"
        },
    )
    note = fields.String(required=True)


class CalendarYear(Base):
    year = fields.Integer(required=True)
    known = fields.Boolean(
        required=True, metadata={"description": "false: the year is not entered yet (and days is empty)"}
    )
    days = fields.List(fields.Nested(CalendarDaySchema), required=True)


class CalendarDayUpdate(Base):
    kind = choice(DayKind, required=True, missing=_l("Choose working day or rest day."))
    note = clean_text(max_length=NOTE_MAX, description="Why, e.g. a make-up working day")


# --------------------------------------------------------------------------- enterprises


class EnterpriseSchema(Base):
    uscc = fields.String(required=True, metadata={"description": "统一社会信用代码 (18 characters)"})
    name = fields.String(required=True)
    building = fields.String(required=True, attribute="building.name")
    street = fields.String(required=True, attribute="building.street.name")
    verified = fields.Boolean(required=True)
    verified_at = LocalTime(required=True, metadata=TIME)


class EnterpriseListArgs(PageArgs):
    q = clean_text(max_length=200, check_length=True, description="A part of the name or code")
    unverified = query_flag(description="true: only enterprises not verified yet")


EnterprisePage = page_of(EnterpriseSchema, "EnterprisePage")
