"""The request lifecycle (DESIGN §4): every transition, who may make it, and the event it leaves.

Services take the acting user and ``now``; they raise :mod:`hotline.errors` domain errors, flush, and leave
the commit to the caller (one transaction per web request or task).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hotline.auth.models import Role, User
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Department, Enterprise
from hotline.enterprises.services import liaison_covers
from hotline.errors import Forbidden, InvalidTransition, ValidationFailed
from hotline.extensions import db
from hotline.notifications import services as notifications
from hotline.outbox import services as outbox
from hotline.sla import clocks
from hotline.sla.calendar import current_calendar
from hotline.sla.worktime import CalendarMissing
from hotline.stats import rollup  # noqa: F401  (its session hooks keep the figures' monthly rollup in step)
from hotline.tickets.models import (
    OPEN_STATES,
    RECORDED_CHANNELS,
    Category,
    Channel,
    EventKind,
    Rating,
    RatingScore,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketState,
    Urgency,
)
from hotline.tickets.queries import get_visible_ticket_by_id
from hotline.timeutil import local_date

TITLE_MAX = 100
TEXT_MAX = 5000
PHONE_RE = re.compile(r"^\+?[0-9][0-9\- ]{5,18}[0-9]$")

# An enterprise may withdraw its request while it is open, i.e. until it is resolved (DESIGN §4).
WITHDRAWABLE = OPEN_STATES


# --------------------------------------------------------------------------- helpers


def state_label(state: TicketState) -> str:
    labels = {
        TicketState.SUBMITTED: _("Awaiting dispatch"),
        TicketState.ASSIGNED: _("Awaiting acknowledgement"),
        TicketState.IN_PROGRESS: _("In progress"),
        TicketState.RESOLVED: _("Resolved, awaiting rating"),
        TicketState.CLOSED: _("Closed"),
        TicketState.RETURNED: _("Returned, awaiting review"),
        TicketState.WITHDRAWN: _("Withdrawn"),
        TicketState.MERGED: _("Merged"),
    }
    return labels[state]


def _refusal_message(action: str, state: str) -> str:
    """Whole sentences per action, so that each translates naturally."""
    messages = {
        "assign": lambda: _("A request that is “%(state)s” cannot be dispatched.", state=state),
        "acknowledge": lambda: _("A request that is “%(state)s” cannot be acknowledged.", state=state),
        "reply": lambda: _("A request that is “%(state)s” cannot be replied to.", state=state),
        "info": lambda: _("A request that is “%(state)s” cannot take more information.", state=state),
        "transfer": lambda: _("A request that is “%(state)s” cannot be transferred.", state=state),
        "handback": lambda: _("A request that is “%(state)s” cannot be handed back.", state=state),
        "return": lambda: _("A request that is “%(state)s” cannot be returned.", state=state),
        "review_return": lambda: _("A request that is “%(state)s” has no return to review.", state=state),
        "resolve": lambda: _("A request that is “%(state)s” cannot be resolved.", state=state),
        "withdraw": lambda: _("A request that is “%(state)s” cannot be withdrawn.", state=state),
        "rate": lambda: _("A request that is “%(state)s” cannot be rated.", state=state),
    }
    return messages[action]()


def _refuse(ticket: Ticket, action: str) -> InvalidTransition:
    return InvalidTransition(_refusal_message(action, state_label(ticket.state)))


def _require_state(ticket: Ticket, allowed: tuple[TicketState, ...], action: str) -> None:
    if ticket.state not in allowed:
        raise _refuse(ticket, action)


def _required_text(value: str | None, field: str, label: str, maximum: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(
            _("%(label)s is required.", label=label), {field: _("This field is required.")}
        )
    if len(text) > maximum:
        message = _("At most %(n)d characters.", n=maximum)
        raise ValidationFailed(message, {field: message})
    return text


def _optional_text(value: str | None, field: str, maximum: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    if len(text) > maximum:
        message = _("At most %(n)d characters.", n=maximum)
        raise ValidationFailed(message, {field: message})
    return text


def _load(ticket_id: int, actor: User) -> Ticket:
    """Re-read the request under a row lock, as the actor sees it (404 if the actor may not see it)."""
    return get_visible_ticket_by_id(actor, ticket_id, for_update=True)


def _event(
    ticket: Ticket,
    actor: User | None,
    kind: EventKind,
    now: datetime,
    *,
    from_state: TicketState | None = None,
    body: str = "",
    public: bool = True,
    payload: dict[str, Any] | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket,
        actor_id=actor.id if actor else None,
        kind=kind,
        from_state=from_state,
        to_state=ticket.state,
        body=body,
        public=public,
        payload=payload or {},
        created_at=now,
    )
    db.session.add(event)
    ticket.updated_at = now
    notifications.on_ticket_event(event, now)
    return event


def record_event(
    ticket: Ticket,
    actor: User | None,
    kind: EventKind,
    now: datetime,
    *,
    body: str = "",
    public: bool = True,
    payload: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append an event that does not change the state (clock alerts, extensions, routing into the pool)."""
    event = _event(
        ticket, actor, kind, now, from_state=ticket.state, body=body, public=public, payload=payload
    )
    db.session.flush()
    return event


def _move(
    ticket: Ticket,
    to: TicketState,
    actor: User | None,
    kind: EventKind,
    now: datetime,
    **event_args: Any,
) -> TicketEvent:
    before = ticket.state
    ticket.state = to
    return _event(ticket, actor, kind, now, from_state=before, **event_args)


def _is_assignee(ticket: Ticket, actor: User) -> bool:
    return ticket.assignee_id is not None and ticket.assignee_id == actor.id


def _is_department_holder(ticket: Ticket, actor: User) -> bool:
    return (
        actor.role == Role.DEPARTMENT
        and ticket.department_id is not None
        and ticket.department_id == actor.department_id
    )


def _is_own_enterprise(ticket: Ticket, actor: User) -> bool:
    return actor.role == Role.ENTERPRISE and actor.enterprise_id == ticket.enterprise_id


def _forbidden(action: str) -> Forbidden:
    messages = {
        "submit": lambda: _("You may not file requests."),
        "assign": lambda: _("Only a manager may dispatch requests."),
        "acknowledge": lambda: _("Only the assignee may acknowledge this request."),
        "reply": lambda: _(
            "Only the assignee, the department holding it or a manager may reply to this request."
        ),
        "note": lambda: _("Enterprises cannot add internal notes."),
        "info": lambda: _("Only the enterprise that filed this request may add information to it."),
        "transfer": lambda: _("Only the assignee or a manager may transfer this request."),
        "handback": lambda: _(
            "Only the department holding it, the assignee or a manager may hand this request back."
        ),
        "return": lambda: _("Only the assignee may return this request."),
        "review_return": lambda: _("Only a manager may review returns."),
        "resolve": lambda: _(
            "Only the assignee, the department holding it or a manager may resolve this request."
        ),
        "withdraw": lambda: _("Only the enterprise that filed this request may withdraw it."),
        "rate": lambda: _(
            "Only the enterprise that filed this request, or a manager recording a follow-up call, "
            "may rate it."
        ),
    }
    return Forbidden(messages[action]())


def next_number(now: datetime) -> str:
    """Issue the next request number of the day, e.g. ``QH20260103-0001`` (day in Asia/Shanghai).

    The counter row is incremented with ``UPDATE … RETURNING``, which row-locks it on PostgreSQL, so two
    concurrent submissions never get the same number.
    """
    day = local_date(now)
    bump = update(TicketCounter).where(TicketCounter.day == day).values(last=TicketCounter.last + 1)
    last = db.session.execute(bump.returning(TicketCounter.last)).scalar()
    if last is None:
        try:
            with db.session.begin_nested():
                db.session.add(TicketCounter(day=day, last=1))
            last = 1
        except IntegrityError:  # another transaction created the row first: take the next value from it
            last = db.session.execute(bump.returning(TicketCounter.last)).scalar_one()
    return f"QH{day:%Y%m%d}-{last:04d}"


# --------------------------------------------------------------------------- submission


def submit_ticket(
    actor: User,
    *,
    category: str,
    title: str,
    description: str,
    urgency: str = Urgency.NORMAL,
    contact_phone: str,
    now: datetime,
    enterprise_uscc: str | None = None,
    channel: str | None = None,
) -> Ticket:
    """File a request.

    An enterprise contact files for its own enterprise (channel ``web`` or ``api``).  A liaison records one on
    behalf of an enterprise of its buildings, a manager for any enterprise, with a channel of
    :data:`RECORDED_CHANNELS`.  Raises :class:`ValidationFailed` with per-field messages, :class:`Forbidden`.
    """
    errors: dict[str, str] = {}
    category_row = db.session.scalars(
        select(Category).where(Category.code == (category or "").strip(), Category.active.is_(True))
    ).first()
    if category_row is None:
        errors["category"] = _("Choose one of the categories.")
    title_text = (title or "").strip()
    if not title_text:
        errors["title"] = _("This field is required.")
    elif len(title_text) > TITLE_MAX:
        errors["title"] = _("At most %(n)d characters.", n=TITLE_MAX)
    description_text = (description or "").strip()
    if not description_text:
        errors["description"] = _("This field is required.")
    elif len(description_text) > TEXT_MAX:
        errors["description"] = _("At most %(n)d characters.", n=TEXT_MAX)
    try:
        urgency_value = Urgency(urgency or Urgency.NORMAL)
    except ValueError:
        errors["urgency"] = _("Urgency is either normal or urgent.")
    phone = (contact_phone or "").strip()
    if not PHONE_RE.match(phone):
        errors["contact_phone"] = _(
            "Enter a phone number of 7 to 20 digits (a leading + and dashes allowed)."
        )

    enterprise: Enterprise | None = None
    channel_value = Channel.WEB
    if actor.role == Role.ENTERPRISE:
        if actor.enterprise_id is None:
            raise _forbidden("submit")
        enterprise = db.session.get(Enterprise, actor.enterprise_id)
        if channel in (Channel.API, "api"):
            channel_value = Channel.API
    elif actor.role in (Role.LIAISON, Role.MANAGER, Role.ADMIN):
        enterprise = db.session.scalars(
            select(Enterprise).where(Enterprise.uscc == uscc_codes.normalise(enterprise_uscc or ""))
        ).first()
        if enterprise is None:
            errors["enterprise_uscc"] = _("No enterprise with this unified social credit code is registered.")
        elif actor.role == Role.LIAISON and not liaison_covers(actor, enterprise.building_id):
            errors["enterprise_uscc"] = _("This enterprise is not in a building you cover.")
        try:
            channel_value = Channel(channel or "")
            if channel_value not in RECORDED_CHANNELS:
                raise ValueError(channel)
        except ValueError:
            errors["channel"] = _(
                "Choose how the request reached you: phone, tea meeting, roundtable or visit."
            )
    else:
        raise _forbidden("submit")

    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert enterprise is not None and category_row is not None

    ticket = Ticket(
        number=next_number(now),
        enterprise_id=enterprise.id,
        building_id=enterprise.building_id,
        street_id=enterprise.building.street_id,
        category=category_row,
        title=title_text,
        description=description_text,
        urgency=urgency_value,
        channel=channel_value,
        contact_phone=phone,
        state=TicketState.SUBMITTED,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(ticket)
    db.session.flush()
    _event(
        ticket,
        actor,
        EventKind.SUBMITTED,
        now,
        body=description_text,
        payload={"channel": channel_value.value, "urgency": urgency_value.value},
    )
    outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": ticket.id}, now, ticket_id=ticket.id)
    db.session.flush()
    return ticket


# --------------------------------------------------------------------------- dispatch


def assign(ticket_id: int, actor: User, liaison_username: str, now: datetime, reason: str = "") -> Ticket:
    """Dispatch by hand (manager): a request in the pool, or reassign one not yet acknowledged.

    The liaison who returned the request last cannot be given it again straight away.
    """
    ticket = _load(ticket_id, actor)
    if not actor.is_staff:
        raise _forbidden("assign")
    _require_state(ticket, (TicketState.SUBMITTED, TicketState.ASSIGNED), "assign")
    liaison = db.session.scalars(
        select(User).where(User.username == (liaison_username or "").strip())
    ).first()
    if liaison is None or liaison.role != Role.LIAISON or not liaison.active:
        message = _("Choose an active liaison.")
        raise ValidationFailed(message, {"liaison": message})
    if not liaison.available:
        message = _("%(name)s is on leave.", name=liaison.name)
        raise ValidationFailed(message, {"liaison": message})
    if ticket.last_returned_by_id == liaison.id:
        message = _("%(name)s returned this request; choose another liaison.", name=liaison.name)
        raise ValidationFailed(message, {"liaison": message})
    if ticket.assignee_id == liaison.id:
        message = _("The request is already assigned to %(name)s.", name=liaison.name)
        raise ValidationFailed(message, {"liaison": message})
    return _assign_to(ticket, liaison, actor, now, reason=_optional_text(reason, "reason"), method="manual")


def assign_by_routing(ticket: Ticket, liaison: User, now: datetime, payload: dict[str, Any]) -> Ticket:
    """Automatic assignment by the routing worker (the caller holds the row lock and checked the state).

    ``payload`` carries the routing decision (rule and reason) onto the ASSIGNED event.
    """
    if ticket.state != TicketState.SUBMITTED:
        raise _refuse(ticket, "assign")
    return _assign_to(ticket, liaison, None, now, reason="", method="routing", extra=payload)


def _assign_to(
    ticket: Ticket,
    liaison: User,
    actor: User | None,
    now: datetime,
    reason: str,
    method: str,
    extra: dict[str, Any] | None = None,
) -> Ticket:
    """Give the request to ``liaison`` and start the acknowledge clock; the method goes on the event."""
    ticket.assignee_id = liaison.id
    ticket.assigned_at = now
    ticket.acknowledged_at = None
    ticket.department_id = None
    ticket.pooled_at = None
    ticket.escalation_level = 0
    clocks.start_acknowledge_clock(ticket, now)
    _move(
        ticket,
        TicketState.ASSIGNED,
        actor,
        EventKind.ASSIGNED,
        now,
        # The dispatcher's reason is for staff: it goes in the payload, which enterprises do not see.
        payload={
            "assignee": liaison.username,
            "assignee_name": liaison.name,
            "method": method,
            **({"reason": reason} if reason else {}),
            **(extra or {}),
        },
    )
    db.session.flush()
    return ticket


# --------------------------------------------------------------------------- assignee's work


def acknowledge(ticket_id: int, actor: User, now: datetime) -> Ticket:
    """签收: the assignee takes responsibility."""
    ticket = _load(ticket_id, actor)
    _require_state(ticket, (TicketState.ASSIGNED,), "acknowledge")
    if not _is_assignee(ticket, actor):
        raise _forbidden("acknowledge")
    ticket.acknowledged_at = now
    ticket.escalation_level = 0
    clocks.start_resolve_clock(ticket, now)
    _move(ticket, TicketState.IN_PROGRESS, actor, EventKind.ACKNOWLEDGED, now)
    db.session.flush()
    return ticket


def reply(ticket_id: int, actor: User, body: str, now: datetime) -> Ticket:
    """A public reply to the enterprise, by the assignee, the department holding it, or a manager."""
    ticket = _load(ticket_id, actor)
    _require_state(ticket, (TicketState.IN_PROGRESS,), "reply")
    if not (_is_assignee(ticket, actor) or _is_department_holder(ticket, actor) or actor.is_staff):
        raise _forbidden("reply")
    text = _required_text(body, "body", _("The reply"))
    _event(ticket, actor, EventKind.REPLIED, now, body=text)
    db.session.flush()
    return ticket


def add_note(ticket_id: int, actor: User, body: str, now: datetime) -> Ticket:
    """An internal note: seen by staff, never by the enterprise."""
    ticket = _load(ticket_id, actor)
    if actor.role == Role.ENTERPRISE:
        raise _forbidden("note")
    text = _required_text(body, "body", _("The note"))
    _event(ticket, actor, EventKind.NOTED, now, body=text, public=False)
    db.session.flush()
    return ticket


def add_information(ticket_id: int, actor: User, body: str, now: datetime) -> Ticket:
    """The enterprise adds information to its open request."""
    ticket = _load(ticket_id, actor)
    if not _is_own_enterprise(ticket, actor):
        raise _forbidden("info")
    _require_state(ticket, OPEN_STATES, "info")
    text = _required_text(body, "body", _("The information"))
    _event(ticket, actor, EventKind.INFO_ADDED, now, body=text)
    db.session.flush()
    return ticket


def transfer(ticket_id: int, actor: User, department_code: str, now: datetime, note: str = "") -> Ticket:
    """转办: hand the work to a district department; the liaison stays the enterprise's contact."""
    ticket = _load(ticket_id, actor)
    _require_state(ticket, (TicketState.IN_PROGRESS,), "transfer")
    if not (_is_assignee(ticket, actor) or actor.is_staff):
        raise _forbidden("transfer")
    department = db.session.scalars(
        select(Department).where(
            Department.code == (department_code or "").strip(), Department.active.is_(True)
        )
    ).first()
    if department is None:
        message = _("Choose one of the departments.")
        raise ValidationFailed(message, {"department": message})
    if ticket.department_id == department.id:
        message = _("The request is already with %(name)s.", name=department.name)
        raise ValidationFailed(message, {"department": message})
    ticket.department_id = department.id
    _event(
        ticket,
        actor,
        EventKind.TRANSFERRED,
        now,
        body=_optional_text(note, "note"),
        payload={"department": department.code, "department_name": department.name},
    )
    db.session.flush()
    return ticket


def handback(ticket_id: int, actor: User, body: str, now: datetime) -> Ticket:
    """The department hands the request back to the liaison (or the liaison takes it back), with a note."""
    ticket = _load(ticket_id, actor)
    _require_state(ticket, (TicketState.IN_PROGRESS,), "handback")
    if ticket.department_id is None:
        raise InvalidTransition(_("The request is not with a department."))
    if not (_is_department_holder(ticket, actor) or _is_assignee(ticket, actor) or actor.is_staff):
        raise _forbidden("handback")
    text = _required_text(body, "body", _("The note to the liaison"))
    department = ticket.department
    ticket.department_id = None
    _event(
        ticket,
        actor,
        EventKind.HANDED_BACK,
        now,
        body=text,
        public=False,
        payload={
            "department": department.code if department else None,
            "department_name": department.name if department else None,
        },
    )
    db.session.flush()
    return ticket


def return_ticket(ticket_id: int, actor: User, reason: str, now: datetime) -> Ticket:
    """退单: the assignee gives the request back for re-dispatch; a manager reviews the return."""
    ticket = _load(ticket_id, actor)
    _require_state(ticket, (TicketState.ASSIGNED, TicketState.IN_PROGRESS), "return")
    if not _is_assignee(ticket, actor):
        raise _forbidden("return")
    text = _required_text(reason, "reason", _("The reason"))
    ticket.returned_from_state = ticket.state
    ticket.last_returned_by_id = actor.id
    ticket.department_id = None
    _move(ticket, TicketState.RETURNED, actor, EventKind.RETURNED, now, body=text, public=False)
    db.session.flush()
    return ticket


def review_return(ticket_id: int, actor: User, accept: bool, note: str, now: datetime) -> Ticket:
    """A manager accepts a return (back to the pool, for another liaison) or refuses it (back to work)."""
    ticket = _load(ticket_id, actor)
    if not actor.is_staff:
        raise _forbidden("review_return")
    _require_state(ticket, (TicketState.RETURNED,), "review_return")
    if accept:
        text = _optional_text(note, "note")
        ticket.assignee_id = None
        ticket.assigned_at = None
        ticket.acknowledged_at = None
        ticket.returned_from_state = None
        _move(ticket, TicketState.SUBMITTED, actor, EventKind.RETURN_ACCEPTED, now, body=text, public=False)
        outbox.enqueue(outbox.ROUTE_TICKET, {"ticket_id": ticket.id}, now, ticket_id=ticket.id)
    else:
        text = _required_text(note, "note", _("The note explaining the refusal"))
        back_to = ticket.returned_from_state or TicketState.ASSIGNED
        ticket.returned_from_state = None
        _move(ticket, back_to, actor, EventKind.RETURN_REFUSED, now, body=text, public=False)
    db.session.flush()
    return ticket


def resolve(ticket_id: int, actor: User, answer: str, now: datetime) -> Ticket:
    """办结: the answer is given; the enterprise has the rating window to rate it."""
    ticket = _load(ticket_id, actor)
    _require_state(ticket, (TicketState.IN_PROGRESS,), "resolve")
    if not (_is_assignee(ticket, actor) or _is_department_holder(ticket, actor) or actor.is_staff):
        raise _forbidden("resolve")
    text = _required_text(answer, "answer", _("The answer"))
    ticket.answer = text
    ticket.resolved_at = now
    ticket.handling_minutes = _handling_minutes(ticket.created_at, now)
    ticket.rating_due_at = now + timedelta(days=current_app.config["RATING_WINDOW_DAYS"])
    _move(ticket, TicketState.RESOLVED, actor, EventKind.RESOLVED, now, body=text)
    db.session.flush()
    return ticket


def _handling_minutes(created_at: datetime, resolved_at: datetime) -> int | None:
    """Working minutes from submission to resolution (平均办理时长); None when the calendar lacks a year."""
    try:
        return current_calendar().working_minutes_between(created_at, resolved_at)
    except CalendarMissing:
        return None


# --------------------------------------------------------------------------- enterprise's side


def withdraw(ticket_id: int, actor: User, reason: str, now: datetime) -> Ticket:
    """The enterprise withdraws its request before it is resolved."""
    ticket = _load(ticket_id, actor)
    if not _is_own_enterprise(ticket, actor):
        raise _forbidden("withdraw")
    _require_state(ticket, WITHDRAWABLE, "withdraw")
    ticket.withdrawn_at = now
    _move(
        ticket, TicketState.WITHDRAWN, actor, EventKind.WITHDRAWN, now, body=_optional_text(reason, "reason")
    )
    db.session.flush()
    return ticket


def rate(ticket_id: int, actor: User, score: str, comment: str, now: datetime) -> Ticket:
    """回访/评价 of a resolved request, by its enterprise or by a manager recording a phone follow-up.

    Satisfied and basically satisfied close the request; dissatisfied reopens it (重办) and needs a comment.
    """
    ticket = _load(ticket_id, actor)
    if not (_is_own_enterprise(ticket, actor) or actor.is_staff):
        raise _forbidden("rate")
    _require_state(ticket, (TicketState.RESOLVED,), "rate")
    try:
        score_value = RatingScore(score)
    except ValueError:
        message = _("Choose satisfied, basically satisfied or dissatisfied.")
        raise ValidationFailed(message, {"score": message}) from None
    if score_value == RatingScore.DISSATISFIED:
        text = _required_text(comment, "comment", _("What is still wrong"))
    else:
        text = _optional_text(comment, "comment")
    via = "enterprise" if actor.role == Role.ENTERPRISE else "phone_follow_up"
    db.session.add(
        Rating(ticket_id=ticket.id, score=score_value, comment=text, rated_by_id=actor.id, created_at=now)
    )
    ticket.rating_score = score_value
    ticket.rating_comment = text
    ticket.rated_at = now
    payload = {"score": score_value.value, "via": via}
    if score_value == RatingScore.DISSATISFIED:
        _event(ticket, actor, EventKind.RATED, now, from_state=ticket.state, body=text, payload=payload)
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.handling_minutes = None
        ticket.rating_due_at = None
        ticket.escalation_level = 0
        clocks.start_resolve_clock(ticket, now)
        _move(ticket, TicketState.IN_PROGRESS, actor, EventKind.REOPENED, now, body=text)
    else:
        ticket.closed_at = now
        _move(ticket, TicketState.CLOSED, actor, EventKind.RATED, now, body=text, payload=payload)
    db.session.flush()
    return ticket


# --------------------------------------------------------------------------- worker side


def close_unrated(now: datetime, limit: int = 500) -> int:
    """Close, as unrated, resolved requests whose rating window has passed.  Idempotent; returns the count."""
    tickets = db.session.scalars(
        select(Ticket)
        .where(Ticket.state == TicketState.RESOLVED, Ticket.rating_due_at <= now)
        .order_by(Ticket.rating_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for ticket in tickets:
        ticket.closed_at = now
        _move(ticket, TicketState.CLOSED, None, EventKind.CLOSED, now, payload={"unrated": True})
    db.session.flush()
    return len(tickets)
