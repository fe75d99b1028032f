"""The liaisons' field work (issue 12): 政企早茶会 and 恳谈会, visits (走访), and what they produce."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from hotline.meetings.models import Meeting, MeetingInvitation, TicketOrigin
    from hotline.tickets.models import Ticket


def init_app(app: Flask) -> None:
    """The meetings' and visits' pages, the labels their templates use, and what other pages show of the
    field work: where a request was raised (its page), the meetings an enterprise is invited to (its
    portal)."""
    from hotline.meetings import labels
    from hotline.meetings.views import bp

    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        meeting_kind_labels=labels.KIND_LABELS,
        meeting_state_labels=labels.STATE_LABELS,
        meeting_response_labels=labels.RESPONSE_LABELS,
        ticket_origin=ticket_origin,
        coming_invitations=coming_invitations,
    )


def ticket_origin(ticket: Ticket) -> TicketOrigin | None:
    """The meeting or visit a request was raised at, for its page (None for a request filed otherwise:
    only the meetings' and visits' channels are looked up)."""
    from hotline.extensions import db
    from hotline.meetings.models import TicketOrigin
    from hotline.tickets.models import Channel

    if ticket.channel not in (Channel.TEA_MEETING, Channel.ROUNDTABLE, Channel.VISIT):
        return None
    return db.session.get(TicketOrigin, ticket.id)


def coming_invitations() -> list[tuple[Meeting, MeetingInvitation]]:
    """The meetings still to come that the current contact's enterprise is invited to, soonest first (for
    its portal); nobody else's."""
    from flask_login import current_user
    from sqlalchemy import select

    from hotline.auth.models import Role
    from hotline.db import utcnow
    from hotline.extensions import db
    from hotline.meetings.models import Meeting, MeetingInvitation, MeetingState

    if not current_user.is_authenticated or current_user.role != Role.ENTERPRISE:
        return []
    if current_user.enterprise_id is None:
        return []
    rows = db.session.execute(
        select(Meeting, MeetingInvitation)
        .join(MeetingInvitation, MeetingInvitation.meeting_id == Meeting.id)
        .where(
            MeetingInvitation.enterprise_id == current_user.enterprise_id,
            MeetingInvitation.invited.is_(True),
            Meeting.state == MeetingState.SCHEDULED,
            Meeting.ends_at > utcnow(),
        )
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(5)
    )
    return [(meeting, invitation) for meeting, invitation in rows]
