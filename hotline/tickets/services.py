"""The request lifecycle (DESIGN §4): the service behind every row of :mod:`hotline.tickets.workflow`.

Each service re-reads the request under a row lock as the actor sees it, asks the table whether the action
is allowed (:func:`hotline.tickets.workflow.check`, one sentence per refusal), checks its values, changes the
request and appends one event, which :mod:`hotline.tickets.events` announces to the features that subscribed
(clocks, routing, notifications).  Services take the acting user and ``now``; they raise
:mod:`hotline.errors` domain errors, flush, and leave the commit to the caller (one transaction per web
request or task).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from hotline.auth.models import Role, User
from hotline.auth.services import liaison_named, user_named
from hotline.db import flush_new_rows
from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Department, Enterprise
from hotline.enterprises.services import liaison_covers
from hotline.errors import Forbidden, ValidationFailed
from hotline.extensions import db
from hotline.text import NOT_ALLOWED_CHARACTERS, has_control_characters, refuse_control_characters
from hotline.tickets import events
from hotline.tickets.models import (
    HELD_STATES,
    RECORDED_CHANNELS,
    Category,
    Channel,
    EventKind,
    Rating,
    RatingScore,
    RatingSource,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketState,
    Urgency,
)
from hotline.tickets.queries import active_category, get_visible_ticket_by_id, returned_by
from hotline.tickets.workflow import ACTIONS, PUBLIC_OF_KIND, TEXT_MAX, TITLE_MAX, check, refusal
from hotline.timeutil import local_date

PHONE_RE = re.compile(r"^\+?[0-9][0-9\- ]{5,18}[0-9]$")

# --------------------------------------------------------------------------- helpers


def _required_text(value: str | None, field: str, label: str, maximum: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    refuse_control_characters(text, field)
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
    refuse_control_characters(text, field)
    if len(text) > maximum:
        message = _("At most %(n)d characters.", n=maximum)
        raise ValidationFailed(message, {field: message})
    return text


def _begin(action: str, ticket_id: int, actor: User) -> Ticket:
    """Re-read the request under a row lock as the actor sees it (404 if the actor may not see it) and check
    that the lifecycle table allows ``action`` now."""
    ticket = get_visible_ticket_by_id(actor, ticket_id, for_update=True)
    check(action, ticket, actor)
    return ticket


def _event(
    ticket: Ticket,
    actor: User | None,
    kind: EventKind,
    now: datetime,
    *,
    from_state: TicketState | None = None,
    body: str = "",
    public: bool | None = None,
    payload: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append one event and announce it; ``public`` defaults to the lifecycle table's word on its kind."""
    if public is None:
        public = PUBLIC_OF_KIND.get(kind, True)
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
    events.emit(event, ticket, now)
    return event


def record_event(
    ticket: Ticket,
    actor: User | None,
    kind: EventKind,
    now: datetime,
    *,
    body: str = "",
    public: bool | None = None,
    payload: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append an event that does not change the state (clock alerts, extensions, routing into the pool).

    Flushes; inside a batch of events (:func:`hotline.tickets.events.batch`: the sweep) once, at its end.
    """
    event = _event(
        ticket, actor, kind, now, from_state=ticket.state, body=body, public=public, payload=payload
    )
    if not events.at_batch_end("hotline.tickets.flush", db.session.flush):
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


def next_number(now: datetime) -> str:
    """Issue the next request number of the day, e.g. ``QH20260103-0001`` (day in Asia/Shanghai).

    The counter row is incremented with ``UPDATE … RETURNING``, which row-locks it on PostgreSQL until the
    transaction ends, so two concurrent submissions never get the same number (a filing rolled back gives
    its number back).
    """
    return _next_number_and_id(now, with_id=False)[0]


def _next_number_and_id(now: datetime, *, with_id: bool) -> tuple[str, int | None]:
    """:func:`next_number`, and on PostgreSQL when ``with_id`` the new request's id from its sequence in the
    same statement: the request, its event and its outbox message are then written in one flush rather than
    two (no flush just for the id).  Elsewhere the id is None: the request's insert assigns it."""
    day = local_date(now)
    new_id = _new_ticket_id() if with_id and _on_postgresql() else None
    columns = (_COUNTERS.c.last,) if new_id is None else (_COUNTERS.c.last, new_id)
    # on the session's connection: a plain statement, without the ORM's bookkeeping of an ORM update
    row: Any = db.session.connection().execute(_bump(day).returning(*columns)).first()
    if row is None:
        row = _first_of_the_day(day, new_id)
    return _number(day, row[0]), (int(row[1]) if new_id is not None else None)


def _category_number_and_id(code: str, now: datetime) -> tuple[Category | None, str, int | None]:
    """The active category ``code`` for a new request, with its number and (PostgreSQL) its id.

    On PostgreSQL one statement reads the category and bumps the day's counter only if the category is active
    (no number is used up by a refused filing); elsewhere :func:`active_category` and then the counter.  The
    category is None, and no number issued, if ``code`` names no active category."""
    if not _on_postgresql():
        category = active_category(code)
        if category is None:
            return None, "", None
        number, ticket_id = _next_number_and_id(now, with_id=True)
        return category, number, ticket_id
    day = local_date(now)
    row: Any = db.session.execute(
        _category_and_number_query(), {"category_code": code, "counter_day": day}
    ).first()
    if row is None:
        return None, "", None
    category, last, ticket_id = row
    if last is None:  # the day's first request: no counter row yet (the id is taken already)
        last = _first_of_the_day(day, None)[0]
    return category, _number(day, last), int(ticket_id)


@functools.cache
def _category_and_number_query() -> Any:
    """The statement of :func:`_category_number_and_id` (PostgreSQL), made once: every filing runs it."""
    active = (Category.code == bindparam("category_code"), Category.active.is_(True))
    chosen = select(Category).where(*active).cte("chosen")
    bump = (
        _bump(bindparam("counter_day"))
        .where(select(chosen.c.id).exists())
        .returning(_COUNTERS.c.last)
        .cte("bump")
    )
    category_of = aliased(Category, chosen)
    return select(category_of, bump.c.last, _new_ticket_id()).select_from(chosen).outerjoin(bump, true())


_COUNTERS = TicketCounter.__table__


def _on_postgresql() -> bool:
    return bool(db.session.get_bind().dialect.name == "postgresql")


def _new_ticket_id() -> Any:
    return func.nextval(func.pg_get_serial_sequence(Ticket.__tablename__, Ticket.id.key))


def _bump(day: Any) -> Any:
    return update(_COUNTERS).where(_COUNTERS.c.day == day).values(last=_COUNTERS.c.last + 1)


def _first_of_the_day(day: date, new_id: Any) -> Any:
    """The counter row of a day that has none yet, made with the value 1 (and the new id, if asked for)."""
    try:
        with db.session.begin_nested():
            db.session.add(TicketCounter(day=day, last=1))
        return (1,) if new_id is None else (1, db.session.scalar(select(new_id)))
    except IntegrityError:  # another transaction created the row first: take the next value from it
        columns = (_COUNTERS.c.last,) if new_id is None else (_COUNTERS.c.last, new_id)
        return db.session.connection().execute(_bump(day).returning(*columns)).one()


def _number(day: date, last: int) -> str:
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
    origin: dict[str, Any] | None = None,
) -> Ticket:
    """File a request.

    An enterprise contact files for its own enterprise (channel ``web`` or ``api``).  A liaison records one on
    behalf of an enterprise of its buildings, a manager for any enterprise, with a channel of
    :data:`RECORDED_CHANNELS`; ``origin`` (``{"meeting": id}`` or ``{"visit": id}``, from
    :mod:`hotline.meetings`) goes on the SUBMITTED event.  Raises :class:`ValidationFailed` with per-field
    messages, :class:`Forbidden`.
    """
    errors: dict[str, str] = {}
    category_code = (category or "").strip()
    title_text = (title or "").strip()
    if has_control_characters(title_text, multiline=False):
        errors["title"] = str(NOT_ALLOWED_CHARACTERS)
    elif not title_text:
        errors["title"] = _("This field is required.")
    elif len(title_text) > TITLE_MAX:
        errors["title"] = _("At most %(n)d characters.", n=TITLE_MAX)
    description_text = (description or "").strip()
    if has_control_characters(description_text):
        errors["description"] = str(NOT_ALLOWED_CHARACTERS)
    elif not description_text:
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
            raise Forbidden(_("You may not file requests."))
        building = joinedload(Enterprise.building)  # read next (the request's building and street)
        enterprise = db.session.get(Enterprise, actor.enterprise_id, options=[building])
        if channel in (Channel.API, "api"):
            channel_value = Channel.API
    elif actor.role in (Role.LIAISON, Role.MANAGER, Role.ADMIN):
        enterprise = db.session.scalars(
            select(Enterprise)
            .where(Enterprise.uscc == uscc_codes.normalise(enterprise_uscc or ""))
            .options(joinedload(Enterprise.building))
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
        raise Forbidden(_("You may not file requests."))

    if errors:
        if active_category(category_code) is None:
            errors = {**_no_category(), **errors}
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert enterprise is not None

    # the objects, not only their ids: what reads the new request next (its answer, the clocks) finds them
    # loaded instead of querying each again
    category_row, number, ticket_id = _category_number_and_id(category_code, now)
    if category_row is None:
        raise ValidationFailed(_("Please correct the marked fields."), _no_category())
    ticket = Ticket(
        id=ticket_id,
        number=number,
        enterprise=enterprise,
        building=enterprise.building,
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
    if ticket_id is None:
        db.session.flush()  # for its id; known already, the request is written first by the flush below
    _event(
        ticket,
        actor,
        EventKind.SUBMITTED,
        now,
        body=description_text,
        payload={"channel": channel_value.value, "urgency": urgency_value.value, **(origin or {})},
    )
    flush_new_rows(db.session)  # the request, its event and its outbox message: one statement on PostgreSQL
    return ticket


def _no_category() -> dict[str, str]:
    # translated only when a filing is refused: a catalogue look-up on every filing otherwise
    return {"category": _("Choose one of the categories.")}


# --------------------------------------------------------------------------- dispatch


def assign(ticket_id: int, actor: User, liaison_username: str, now: datetime, reason: str = "") -> Ticket:
    """Dispatch by hand (manager), or hand an open request over to another liaison.

    - waiting (in the pool or not yet routed) or assigned: the liaison is to acknowledge it, on a new
      acknowledge clock;
    - returned: the reassignment settles the return; the new liaison acknowledges it, as above;
    - in progress: the new liaison holds it at once, still in progress: its acknowledgement, its resolve
      deadline (more time is an extension a manager grants), its escalation and a department handling it
      are kept.

    The liaison who returned the request last cannot be given it again straight away.  Raises
    :class:`Forbidden`, :class:`InvalidTransition`, :class:`ValidationFailed` (field ``liaison``).
    """
    ticket = _begin("assign", ticket_id, actor)
    liaison = user_named(liaison_username)
    if liaison is None or liaison.role != Role.LIAISON or not liaison.active:
        message = _("Choose an active liaison.")
        raise ValidationFailed(message, {"liaison": message})
    if liaison.away_on(local_date(now)):
        message = _("%(name)s is on leave.", name=liaison.name)
        raise ValidationFailed(message, {"liaison": message})
    if ticket.last_returned_by_id == liaison.id:
        message = _("%(name)s returned this request; choose another liaison.", name=liaison.name)
        raise ValidationFailed(message, {"liaison": message})
    if ticket.assignee_id == liaison.id:
        message = _("The request is already assigned to %(name)s.", name=liaison.name)
        raise ValidationFailed(message, {"liaison": message})
    why = _optional_text(reason, "reason")
    if ticket.state == TicketState.IN_PROGRESS:
        return _hand_over(ticket, liaison, actor, now, why)
    return _assign_to(ticket, liaison, actor, now, reason=why, method="manual")


def _hand_over(ticket: Ticket, liaison: User, actor: User, now: datetime, reason: str) -> Ticket:
    """A request in progress goes to ``liaison`` as it stands (see :func:`assign`): an ASSIGNED event from
    and to ``in_progress``, which starts no acknowledge clock (``hotline.sla``)."""
    previous = db.session.get(User, ticket.assignee_id) if ticket.assignee_id is not None else None
    ticket.assignee_id = liaison.id
    _event(
        ticket,
        actor,
        EventKind.ASSIGNED,
        now,
        from_state=ticket.state,
        payload={
            "assignee": liaison.username,
            "assignee_name": liaison.name,
            "method": "handover",
            **(
                {"previous_assignee": previous.username, "previous_assignee_name": previous.name}
                if previous is not None
                else {}
            ),
            **({"reason": reason} if reason else {}),
        },
    )
    db.session.flush()
    return ticket


@dataclass(frozen=True)
class Handover:
    """What :func:`hand_over_workload` did: the numbers of the requests handed over, and those kept with
    why (the new liaison returned it, say), each ``(number, message)``."""

    to_name: str  # the liaison who took the work over
    handed_over: list[str]
    kept: list[tuple[str, str]]


def _held_by(liaison_id: int) -> Any:
    """The condition of the open requests the liaison holds (assigned, in progress, returned and not
    reviewed)."""
    return (Ticket.assignee_id == liaison_id) & Ticket.state.in_(HELD_STATES)


def held_count(liaison_id: int) -> int:
    """How many open requests the liaison holds (:func:`_held_by`)."""
    return int(db.session.scalar(select(func.count(Ticket.id)).where(_held_by(liaison_id))) or 0)


def hand_over_workload(username: str, actor: User, to_username: str, reason: str, now: datetime) -> Handover:
    """A liaison's whole open workload to another liaison in one step (a manager: a liaison leaving, or away
    for long).  Every request it holds goes over as :func:`assign` hands one over; one the new liaison may
    not take (it returned it) stays, listed with the reason.  The reason is required and written on every
    request's ASSIGNED event.

    Raises :class:`Forbidden` (not a manager), :class:`NotFound` (no such liaison) and
    :class:`ValidationFailed` on ``to`` (the same liaison, an unknown, inactive or absent one) or ``reason``.
    """
    if actor.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only a manager may hand a liaison's work over."))
    source = liaison_named(username)
    errors: dict[str, str] = {}
    target = user_named(to_username)
    if target is None or target.role != Role.LIAISON or not target.active:
        errors["to"] = _("Choose an active liaison.")
    elif target.id == source.id:
        errors["to"] = _("Choose another liaison than the one handing over.")
    elif target.away_on(local_date(now)):
        errors["to"] = _("%(name)s is on leave.", name=target.name)
    why = ""
    try:
        why = _required_text(reason, "reason", _("The reason"))
    except ValidationFailed as error:
        errors.update(error.fields)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert target is not None
    held = select(Ticket.id, Ticket.number).where(_held_by(source.id))
    handed: list[str] = []
    kept: list[tuple[str, str]] = []
    for ticket_id, number in db.session.execute(held.order_by(Ticket.id)).all():
        ticket = db.session.get(Ticket, ticket_id)
        if ticket is not None and target.id in returned_by(ticket):  # as routing: no bounce A -> B -> A
            kept.append(
                (number, _("%(name)s returned this request; choose another liaison.", name=target.name))
            )
            continue
        try:
            assign(ticket_id, actor, target.username, now, why)
        except ValidationFailed as refused:  # checked before anything is changed: the others go on
            kept.append((number, refused.fields.get("liaison") or refused.message))
        else:
            handed.append(number)
    return Handover(target.name, handed, kept)


def assign_by_routing(ticket: Ticket, liaison: User, now: datetime, payload: dict[str, Any]) -> Ticket:
    """Automatic assignment by the routing worker (the caller holds the row lock and checked the state).

    ``payload`` carries the routing decision (rule and reason) onto the ASSIGNED event.
    """
    if ticket.state != TicketState.SUBMITTED:
        raise refusal(ACTIONS["assign"], ticket)
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
    """Give the request to ``liaison``; the acknowledge clock starts on the ASSIGNED event (hotline.sla)."""
    # A signing clock stopped by a reassignment is judged now, as a return's is (DESIGN §7): past its
    # deadline the request stays late in 及时签收率, whatever the next liaison does.
    if (
        ticket.state == TicketState.ASSIGNED
        and ticket.acknowledge_due_at is not None
        and now > ticket.acknowledge_due_at
    ):
        ticket.late_returns += 1
    ticket.assignee_id = liaison.id
    ticket.assigned_at = now
    ticket.acknowledged_at = None
    ticket.department_id = None
    ticket.pooled_at = None
    ticket.returned_from_state = None  # a return not reviewed yet is settled by the reassignment
    ticket.escalation_level = 0
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
    # inside a batch of events (routing a backlog: hotline.routing.services.route_tickets) once, at its end
    if not events.at_batch_end("hotline.tickets.flush", db.session.flush):
        db.session.flush()
    return ticket


# --------------------------------------------------------------------------- assignee's work


def acknowledge(ticket_id: int, actor: User, now: datetime) -> Ticket:
    """签收: the assignee takes responsibility; the resolve clock starts on the event (``hotline.sla``)."""
    ticket = _begin("acknowledge", ticket_id, actor)
    ticket.acknowledged_at = now
    ticket.escalation_level = 0
    _move(ticket, TicketState.IN_PROGRESS, actor, EventKind.ACKNOWLEDGED, now)
    db.session.flush()
    return ticket


def reply(ticket_id: int, actor: User, body: str, now: datetime) -> Ticket:
    """A public reply to the enterprise, by the assignee, the department holding it, or a manager."""
    ticket = _begin("reply", ticket_id, actor)
    text = _required_text(body, "body", _("The reply"))
    _event(ticket, actor, EventKind.REPLIED, now, body=text)
    db.session.flush()
    return ticket


def add_note(ticket_id: int, actor: User, body: str, now: datetime) -> Ticket:
    """An internal note: seen by staff, never by the enterprise."""
    ticket = _begin("note", ticket_id, actor)
    text = _required_text(body, "body", _("The note"))
    _event(ticket, actor, EventKind.NOTED, now, body=text)
    db.session.flush()
    return ticket


def add_information(ticket_id: int, actor: User, body: str, now: datetime) -> Ticket:
    """The enterprise adds information to its open request."""
    ticket = _begin("add_information", ticket_id, actor)
    text = _required_text(body, "body", _("The information"))
    _event(ticket, actor, EventKind.INFO_ADDED, now, body=text)
    db.session.flush()
    return ticket


def transfer(ticket_id: int, actor: User, department_code: str, now: datetime, note: str = "") -> Ticket:
    """转办: hand the work to a district department; the liaison stays the enterprise's contact."""
    ticket = _begin("transfer", ticket_id, actor)
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
    ticket = _begin("handback", ticket_id, actor)
    text = _required_text(body, "body", _("The note to the liaison"))
    department = ticket.department
    ticket.department_id = None
    _event(
        ticket,
        actor,
        EventKind.HANDED_BACK,
        now,
        body=text,
        payload={
            "department": department.code if department else None,
            "department_name": department.name if department else None,
        },
    )
    db.session.flush()
    return ticket


def return_ticket(ticket_id: int, actor: User, reason: str, now: datetime) -> Ticket:
    """退单: the assignee gives the request back for re-dispatch; a manager reviews the return."""
    ticket = _begin("return", ticket_id, actor)
    text = _required_text(reason, "reason", _("The reason"))
    # A signing clock stopped by the return is judged now (DESIGN §7): late if past its deadline, which the
    # next assignee's clock must not hide; before the deadline it is simply out of the response rate.
    if (
        ticket.state == TicketState.ASSIGNED
        and ticket.acknowledge_due_at is not None
        and now > ticket.acknowledge_due_at
    ):
        ticket.late_returns += 1
    ticket.returned_from_state = ticket.state
    ticket.last_returned_by_id = actor.id
    ticket.department_id = None
    _move(ticket, TicketState.RETURNED, actor, EventKind.RETURNED, now, body=text)
    db.session.flush()
    return ticket


def review_return(ticket_id: int, actor: User, accept: bool | None, note: str, now: datetime) -> Ticket:
    """A manager accepts a return (back to routing, for another liaison) or refuses it (back to work).

    ``accept`` None (no decision made) is a :class:`ValidationFailed` on field ``accept``.
    """
    ticket = _begin("review_return", ticket_id, actor)
    if accept is None:
        message = str(ACTIONS["review_return"].field("accept").missing)
        raise ValidationFailed(message, {"accept": message})
    if accept:
        text = _optional_text(note, "note")
        ticket.assignee_id = None
        ticket.assigned_at = None
        ticket.acknowledged_at = None
        ticket.returned_from_state = None
        _move(ticket, TicketState.SUBMITTED, actor, EventKind.RETURN_ACCEPTED, now, body=text)
    else:
        text = _required_text(note, "note", _("The note explaining the refusal"))
        back_to = ticket.returned_from_state or TicketState.ASSIGNED
        ticket.returned_from_state = None
        _move(ticket, back_to, actor, EventKind.RETURN_REFUSED, now, body=text)
    db.session.flush()
    return ticket


def resolve(ticket_id: int, actor: User, answer: str, now: datetime) -> Ticket:
    """办结: the answer is given; the rating window and handling time are set on the event (hotline.sla)."""
    ticket = _begin("resolve", ticket_id, actor)
    text = _required_text(answer, "answer", _("The answer"))
    ticket.answer = text
    ticket.resolved_at = now
    _move(ticket, TicketState.RESOLVED, actor, EventKind.RESOLVED, now, body=text)
    db.session.flush()
    return ticket


def answer_on_the_spot(
    ticket: Ticket, answerer: User, answer: str, now: datetime, payload: dict[str, Any]
) -> Ticket:
    """A request just filed and answered where it was raised (at a meeting's table, on a visit): assigned to
    the answering liaison (unless routing assigned it already, for a manager who answered), acknowledged and
    resolved at once, each step its own event as if taken one after the other, so the clocks, the figures
    and the enterprise's rating treat it as any other resolved request.  ``answer`` is checked by the
    caller; ``payload`` (the meeting or visit) goes on the events.  Flushes.
    """
    if ticket.state == TicketState.SUBMITTED:
        if answerer.role != Role.LIAISON:
            raise refusal(ACTIONS["resolve"], ticket)
        _assign_to(ticket, answerer, answerer, now, reason="", method="on_the_spot", extra=payload)
    if ticket.state != TicketState.ASSIGNED:
        raise refusal(ACTIONS["acknowledge"], ticket)
    ticket.acknowledged_at = now
    ticket.escalation_level = 0
    _move(ticket, TicketState.IN_PROGRESS, answerer, EventKind.ACKNOWLEDGED, now, payload=payload)
    ticket.answer = answer
    ticket.resolved_at = now
    _move(
        ticket,
        TicketState.RESOLVED,
        answerer,
        EventKind.RESOLVED,
        now,
        body=answer,
        payload={"on_the_spot": True, **payload},
    )
    db.session.flush()
    return ticket


# --------------------------------------------------------------------------- enterprise's side


def withdraw(ticket_id: int, actor: User, reason: str, now: datetime) -> Ticket:
    """The enterprise withdraws its request before it is resolved."""
    ticket = _begin("withdraw", ticket_id, actor)
    text = _optional_text(reason, "reason")
    ticket.withdrawn_at = now
    _move(ticket, TicketState.WITHDRAWN, actor, EventKind.WITHDRAWN, now, body=text)
    db.session.flush()
    return ticket


def rate(ticket_id: int, actor: User, score: str | None, comment: str, now: datetime) -> Ticket:
    """评价 of a resolved request by its enterprise, online.

    Satisfied and basically satisfied close the request; dissatisfied reopens it (重办, a new resolve clock
    starts on the REOPENED event) and needs a comment.  Staff never rate on the enterprise's behalf: what it
    says on a follow-up call is recorded with the call (:mod:`hotline.followup`), which rates through
    :func:`give_rating`.
    """
    ticket = _begin("rate", ticket_id, actor)
    score_value = rating_score(score, ACTIONS["rate"].field("score").missing)
    if score_value == RatingScore.DISSATISFIED:
        text = _required_text(comment, "comment", _("What is still wrong"))
    else:
        text = _optional_text(comment, "comment")
    give_rating(ticket, actor, score_value, text, RatingSource.ENTERPRISE, now, {"via": "enterprise"})
    return ticket


def rating_score(score: str | None, missing: object) -> RatingScore:
    """The score named ``score``, or a :class:`ValidationFailed` on the field ``score`` saying ``missing``."""
    try:
        return RatingScore(score or "")
    except ValueError:
        message = str(missing)
        raise ValidationFailed(message, {"score": message}) from None


def give_rating(
    ticket: Ticket,
    actor: User,
    score: RatingScore,
    text: str,
    source: RatingSource,
    now: datetime,
    payload: dict[str, Any],
) -> Rating:
    """Record a rating of the resolved ``ticket`` (already locked and checked by the caller) and follow it:
    satisfied or basically satisfied closes the request, dissatisfied reopens it (RATED then REOPENED).

    The rating row keeps its source, who recorded it and when; the request row keeps the latest rating and
    the first one's score, for the figures.  Flushes.
    """
    rating = record_rating(ticket, actor, score, text, source, now)
    payload = {"score": score.value, **payload}
    if score == RatingScore.DISSATISFIED:
        _event(ticket, actor, EventKind.RATED, now, from_state=ticket.state, body=text, payload=payload)
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.handling_minutes = None
        ticket.rating_due_at = None
        ticket.escalation_level = 0
        _move(ticket, TicketState.IN_PROGRESS, actor, EventKind.REOPENED, now, body=text)
    else:
        ticket.closed_at = now
        _move(ticket, TicketState.CLOSED, actor, EventKind.RATED, now, body=text, payload=payload)
    db.session.flush()
    return rating


def record_rating(
    ticket: Ticket, actor: User, score: RatingScore, text: str, source: RatingSource, now: datetime
) -> Rating:
    """A rating row, and the request row's latest rating and first score (for the figures); what follows
    from it (closing, reopening) is the caller's."""
    rating = Rating(
        ticket_id=ticket.id, score=score, comment=text, rated_by_id=actor.id, created_at=now, source=source
    )
    db.session.add(rating)
    if ticket.first_rating_score is None:
        ticket.first_rating_score = score
    ticket.rating_source = source
    ticket.rating_score = score
    ticket.rating_comment = text
    ticket.rated_at = now
    return rating


def begin(action: str, ticket_id: int, actor: User) -> Ticket:
    """For a feature's action bound to the lifecycle table: the request re-read under a row lock as the
    actor sees it (404 otherwise), the table's guard passed."""
    return _begin(action, ticket_id, actor)


def close_without_rating(ticket: Ticket, actor: User | None, now: datetime, payload: dict[str, Any]) -> None:
    """Close the resolved ``ticket`` unrated (a CLOSED event with ``unrated`` in its payload); the caller
    flushes."""
    ticket.closed_at = now
    _move(ticket, TicketState.CLOSED, actor, EventKind.CLOSED, now, payload={"unrated": True, **payload})


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
        close_without_rating(ticket, None, now, {})
    db.session.flush()
    return len(tickets)
