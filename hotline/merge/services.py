"""并单: merging a repeated request into the main one, and undoing it the same day (issue 13, point 3).

The services behind the lifecycle rows ``merge`` and ``unmerge`` (:mod:`hotline.tickets.workflow`).

- ``merge``: the assignee or a manager, on an open request; the main request (``into``) is another request
  the actor may see, open or resolved, not merged itself, of the same enterprise or the same building (a
  shared fault of a building reaches several of its enterprises); a reason is required.  The merged request
  goes to state ``merged`` with ``merged_into_id``; a MERGED event on it (public: its enterprise sees where it
  went) and one on the main request (public only when both are of the same enterprise: another enterprise's
  request is not shown to it).  Requests merged into the merged one go along to the main one (no chains).
- ``unmerge``: a manager, on the local day (Asia/Shanghai) of the merge: the request is back in the state it
  had, an UNMERGED event on both.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from hotline.auth.models import User
from hotline.errors import NotFound, ValidationFailed
from hotline.extensions import db
from hotline.text import has_control_characters
from hotline.tickets import services as tickets
from hotline.tickets.models import OPEN_STATES, EventKind, Ticket, TicketEvent, TicketState
from hotline.tickets.queries import get_visible_ticket
from hotline.timeutil import local_date

# What a request can be merged into: still being worked on, or answered and awaiting its rating.
MAIN_STATES = (*OPEN_STATES, TicketState.RESOLVED)


def _refuse_into(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"into": message})


def main_request(ticket: Ticket, actor: User, into: str | None) -> Ticket:
    """The request ``into`` names as the main one for merging ``ticket``, or :class:`ValidationFailed` on
    ``into`` saying why not."""
    number = (into or "").strip().upper()
    if not number:
        raise (_refuse_into(_("Enter the number of the main request.")))
    if has_control_characters(number, multiline=False) or len(number) > 20:
        raise (_refuse_into(_("No request with this number that you may see.")))
    if number == ticket.number:
        raise (_refuse_into(_("A request cannot be merged into itself.")))
    try:
        main = get_visible_ticket(actor, number, for_update=True)
    except NotFound:
        raise _refuse_into(_("No request with this number that you may see.")) from None
    if main.state == TicketState.MERGED:
        raise _refuse_into(
            _("Request %(number)s is merged itself; merge into its main request.", number=number)
        )
    if main.state not in MAIN_STATES:
        raise _refuse_into(
            _("Request %(number)s is no longer open; it cannot take others in.", number=number)
        )
    if main.enterprise_id != ticket.enterprise_id and main.building_id != ticket.building_id:
        raise _refuse_into(
            _("Only a request of the same enterprise or the same building can be the main one.")
        )
    return main


def merge(ticket_id: int, actor: User, into: str, reason: str, now: datetime) -> Ticket:
    """Merge the request into ``into`` (see the module's rules).  Raises :class:`Forbidden`,
    :class:`InvalidTransition`, :class:`ValidationFailed` (fields ``into``, ``reason``)."""
    ticket = tickets.begin("merge", ticket_id, actor)
    errors: dict[str, str] = {}
    main: Ticket | None = None
    try:
        main = main_request(ticket, actor, into)
    except ValidationFailed as error:
        errors.update(error.fields)
    text = ""
    try:
        text = tickets._required_text(reason, "reason", _("The reason"))
    except ValidationFailed as error:
        errors.update(error.fields)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert main is not None
    ticket.merged_into_id = main.id
    followers = merged_into(ticket)  # those merged into this one go along: one main request, no chains
    for follower in followers:
        follower.merged_into_id = main.id
    tickets._move(
        ticket,
        TicketState.MERGED,
        actor,
        EventKind.MERGED,
        now,
        body=text,
        payload={"into": main.number, "into_title": main.title},
    )
    tickets.record_event(
        main,
        actor,
        EventKind.MERGED,
        now,
        body=text,
        public=main.enterprise_id == ticket.enterprise_id,
        payload={
            "merged": ticket.number,
            "merged_title": ticket.title,
            **({"with": [f.number for f in followers]} if followers else {}),
        },
    )
    db.session.flush()
    return ticket


def merge_event(ticket: Ticket) -> TicketEvent | None:
    """The MERGED event that put ``ticket`` in state ``merged`` (the latest)."""
    return db.session.scalars(
        select(TicketEvent)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.kind == EventKind.MERGED,
            TicketEvent.to_state == TicketState.MERGED,
        )
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).first()


def may_unmerge(ticket: Ticket, user: User) -> bool:
    """Offered only on the local day of the merge."""
    from hotline.db import utcnow

    event = merge_event(ticket)
    return event is not None and local_date(event.created_at) == local_date(utcnow())


def unmerge(ticket_id: int, actor: User, reason: str, now: datetime) -> Ticket:
    """Undo the merge on its local day: the request is back in the state it was merged from."""
    ticket = tickets.begin("unmerge", ticket_id, actor)
    text = tickets._optional_text(reason, "reason")
    event = merge_event(ticket)
    if event is None or local_date(event.created_at) != local_date(now):
        message = _("A merge can only be undone on the day it was made.")
        raise ValidationFailed(message, {"reason": message})
    back_to = event.from_state if event.from_state in OPEN_STATES else TicketState.SUBMITTED
    main = db.session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id is not None else None
    ticket.merged_into_id = None
    tickets._move(
        ticket,
        back_to,
        actor,
        EventKind.UNMERGED,
        now,
        body=text,
        payload={"from": main.number if main is not None else ""},
    )
    if main is not None:
        tickets.record_event(
            main,
            actor,
            EventKind.UNMERGED,
            now,
            body=text,
            public=main.enterprise_id == ticket.enterprise_id,
            payload={"merged": ticket.number},
        )
    db.session.flush()
    return ticket


def may_rate_merged(ticket: Ticket, user: User) -> bool:
    """Offered to the merged request's enterprise once the main request is answered, until it has rated."""
    if ticket.rating_score is not None or ticket.merged_into_id is None:
        return False
    main = db.session.get(Ticket, ticket.merged_into_id)
    return main is not None and main.state in (TicketState.RESOLVED, TicketState.CLOSED)


def rate_merged(ticket_id: int, actor: User, score: str | None, comment: str, now: datetime) -> Ticket:
    """The enterprise of a merged request rates the answer its main request was given (asked to by the
    notification of that answer).  The rating is the merged request's own (a Rating row, the request's
    latest rating) and the request stays merged: outside the figures, as every merged request (DESIGN §7).
    A dissatisfied rating needs a comment and is told to the main request's staff on its timeline (an
    internal event).  Raises ValidationFailed (the main not answered yet, rated already, the score or the
    comment missing), and the lifecycle table's refusals."""
    from hotline.tickets.models import RatingScore, RatingSource

    ticket = tickets.begin("rate_merged", ticket_id, actor)
    main = db.session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id is not None else None
    if main is None or main.state not in (TicketState.RESOLVED, TicketState.CLOSED):
        raise ValidationFailed(_("The main request is not answered yet: there is nothing to rate."), {})
    if ticket.rating_score is not None:
        raise ValidationFailed(_("The answer is rated already."), {})
    value = tickets.rating_score(score, _("Choose satisfied, basically satisfied or dissatisfied."))
    if value == RatingScore.DISSATISFIED:
        text = tickets._required_text(comment, "comment", _("What is still wrong"))
    else:
        text = tickets._optional_text(comment, "comment")
    tickets.record_rating(ticket, actor, value, text, RatingSource.ENTERPRISE, now)
    payload = {"score": value.value, "main": main.number}
    tickets.record_event(ticket, actor, EventKind.RATED, now, body=text, payload=payload)
    if value == RatingScore.DISSATISFIED:
        tickets.record_event(
            main,
            actor,
            EventKind.NOTED,
            now,
            body=_(
                "The enterprise of %(number)s, merged into this request, is dissatisfied with the answer: "
                "%(comment)s",
                number=ticket.number,
                comment=text,
            ),
            public=False,
            payload={"merged": ticket.number, "score": value.value},
        )
    db.session.flush()
    return ticket


def merged_into(main: Ticket) -> list[Ticket]:
    """The requests merged into ``main`` (bounded: a main request takes in a few)."""
    return list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.merged_into_id == main.id, Ticket.state == TicketState.MERGED)
            .order_by(Ticket.id)
            .limit(200)
        )
    )
