"""What the invited enterprises' contacts are told of a meeting: the invitation, a change of time or place,
a cancellation (in the app, and by email through the outbox)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.extensions import db
from hotline.meetings.models import InvitationResponse, Meeting
from hotline.notifications.models import NotificationKind
from hotline.notifications.services import notify
from hotline.timeutil import iso


def _params(meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting": meeting.id,
        "meeting_title": meeting.title,
        "starts_at": iso(meeting.starts_at),
        "place": meeting.place,
        "host": meeting.host.name,
    }


def _contacts(enterprise_ids: Iterable[int]) -> list[User]:
    ids = sorted(set(enterprise_ids))
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(User)
            .where(User.enterprise_id.in_(ids), User.role == Role.ENTERPRISE, User.active.is_(True))
            .order_by(User.id)
        )
    )


def invited(meeting: Meeting, enterprise_ids: Iterable[int], now: datetime) -> None:
    """Tell the contacts of the newly invited enterprises."""
    notify(_contacts(enterprise_ids), NotificationKind.MEETING_INVITED, now, params=_params(meeting))


def _still_invited(meeting: Meeting) -> list[int]:
    return [
        i.enterprise_id
        for i in meeting.invitations
        if i.invited and i.response != InvitationResponse.DECLINED
    ]


def moved(meeting: Meeting, now: datetime) -> None:
    """Tell the invited (but those who declined) that the time or place changed."""
    notify(_contacts(_still_invited(meeting)), NotificationKind.MEETING_MOVED, now, params=_params(meeting))


def cancelled(meeting: Meeting, now: datetime) -> None:
    """Tell the invited (but those who declined) that the meeting is cancelled."""
    notify(
        _contacts(_still_invited(meeting)), NotificationKind.MEETING_CANCELLED, now, params=_params(meeting)
    )
