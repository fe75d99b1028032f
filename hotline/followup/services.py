"""Recording follow-up calls (回访), the services behind the lifecycle rows ``followup`` and
``followup_unanswered``.

The rules, in the order they are checked:

- only a manager, on a request that is resolved (the table's guard);
- never by someone who handled the request: its assignee, or anyone who acknowledged, replied to,
  transferred, handed back, returned or resolved it (:func:`handled`) — the call checks their work;
- only while the follow-up calls are on (``FOLLOWUP_AFTER_WORKING_DAYS`` > 0), and once the enterprise has
  had its time to rate online (the request's ``rating_due_at``: :mod:`hotline.followup.queries`);
- the call's time is not in the future, not before that time ran out, and at least
  ``FOLLOWUP_RETRY_MINUTES`` working minutes after the request's previous call (three calls in a minute
  are not three attempts to reach anyone).

A call that reached the contact records whom, whether the problem is solved, and the satisfaction they
stated; that is the request's rating (source ``followup_call``, recorded by the caller), so satisfied and
basically satisfied close the request and dissatisfied reopens it (重办), exactly like the enterprise's own
rating.  A comment is required when the contact is dissatisfied or says the problem is not solved.  An
unanswered call leaves the request in the queue; the ``FOLLOWUP_ATTEMPTS``-th (3) closes it unrated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from hotline.auth.models import User
from hotline.db import utcnow
from hotline.errors import Forbidden, InvalidTransition, ValidationFailed
from hotline.extensions import db
from hotline.followup.models import FollowupCall
from hotline.followup.queries import enabled
from hotline.sla.calendar import current_calendar
from hotline.sla.worktime import CalendarMissing
from hotline.text import refuse_control_characters
from hotline.tickets import services as tickets
from hotline.tickets.models import (
    EventKind,
    FollowupOutcome,
    RatingScore,
    RatingSource,
    Ticket,
    TicketEvent,
)
from hotline.tickets.workflow import ACTIONS, FOLLOWUP_CONTACT_MAX, TEXT_MAX
from hotline.timeutil import LOCAL_TZ, local

T = TypeVar("T")

# The events that make their actor one who handled the request (and so may not check it by a call).
HANDLING_KINDS = (
    EventKind.ACKNOWLEDGED,
    EventKind.REPLIED,
    EventKind.TRANSFERRED,
    EventKind.HANDED_BACK,
    EventKind.RETURNED,
    EventKind.RESOLVED,
)
# A call recorded with a time this far ahead of the server's clock is a typing mistake, not a clock skew.
CLOCK_SLACK = timedelta(minutes=5)


def max_attempts() -> int:
    return int(current_app.config["FOLLOWUP_ATTEMPTS"])


def handled(ticket: Ticket, user: User) -> bool:
    """Whether ``user`` handled ``ticket``: holds it, or acknowledged, replied, transferred, handed back,
    returned or resolved it at any time."""
    return ticket.id in handled_among([ticket], user)


def handled_among(tickets_: list[Ticket], user: User) -> set[int]:
    """The ids of those of ``tickets_`` that ``user`` handled (:func:`handled`), in one query."""
    held = {t.id for t in tickets_ if t.assignee_id == user.id}
    others = [t.id for t in tickets_ if t.id not in held]
    if others:
        held |= set(
            db.session.scalars(
                select(TicketEvent.ticket_id)
                .where(
                    TicketEvent.ticket_id.in_(others),
                    TicketEvent.actor_id == user.id,
                    TicketEvent.kind.in_(HANDLING_KINDS),
                )
                .distinct()
            )
        )
    return held


def is_due(ticket: Ticket, now: datetime) -> bool:
    """Whether the enterprise's time to rate online is over (the request is in the follow-up queue)."""
    return ticket.rating_due_at is not None and ticket.rating_due_at <= now


def may_call(ticket: Ticket, user: User) -> bool:
    """Whether the request's page offers ``user`` to record a follow-up call now."""
    return enabled() and is_due(ticket, utcnow()) and not handled(ticket, user)


def attempts(ticket_id: int) -> int:
    """The follow-up calls made for a request since its latest resolution (a request reopened and resolved
    again is followed up afresh)."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(FollowupCall)
            .join(Ticket, Ticket.id == FollowupCall.ticket_id)
            .where(FollowupCall.ticket_id == ticket_id, FollowupCall.recorded_at >= Ticket.resolved_at)
        )
        or 0
    )


def _check_caller(ticket: Ticket, actor: User, now: datetime) -> None:
    if not enabled():
        raise InvalidTransition(_("The follow-up calls are turned off."))
    if handled(ticket, actor):
        raise Forbidden(_("You handled this request: its follow-up call must be made by another manager."))
    if not is_due(ticket, now):
        raise InvalidTransition(
            _(
                "The enterprise may still rate online until %(when)s; the follow-up call comes after.",
                when=_local(ticket.rating_due_at),
            )
        )


def _local(moment: datetime | None) -> str:
    return "—" if moment is None else local(moment).strftime("%Y-%m-%d %H:%M")


def _last_call(ticket: Ticket) -> FollowupCall | None:
    """The request's latest call since its latest resolution."""
    return db.session.scalars(
        select(FollowupCall)
        .where(FollowupCall.ticket_id == ticket.id, FollowupCall.recorded_at >= ticket.resolved_at)
        .order_by(FollowupCall.id.desc())
        .limit(1)
    ).first()


def _next_call_from(previous: FollowupCall) -> datetime:
    """The earliest time of the call after ``previous``: ``FOLLOWUP_RETRY_MINUTES`` working minutes on
    (wall-clock minutes when the calendar lacks the year)."""
    minutes = int(current_app.config["FOLLOWUP_RETRY_MINUTES"])
    try:
        return current_calendar().add_working_minutes(previous.called_at, minutes)
    except CalendarMissing:
        return previous.called_at + timedelta(minutes=minutes)


# What the time of a call may be written as: the browser's picker (2026-12-04T10:30), the same with a space,
# seconds optional, an offset optional (ISO 8601: Z or ±HH:MM).
_CALL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?")


def call_time(value: str | None, ticket: Ticket, now: datetime) -> datetime:
    """When the call was made: ``value`` (``YYYY-MM-DD HH:MM``, or with a ``T``, seconds and an offset as
    ISO 8601; without an offset it is Asia/Shanghai time, as the browser's picker sends it), or ``now`` if
    empty.

    Refused on the field ``called_at``: unreadable, in the future, before the enterprise's time to rate
    online ran out, or sooner than ``FOLLOWUP_RETRY_MINUTES`` working minutes after the previous call."""
    text = (value or "").strip()
    if not text:
        moment = now
    else:
        refuse_control_characters(text, "called_at", multiline=False)
        unreadable = _("Give the time of the call as YYYY-MM-DD HH:MM.")
        if not _CALL_TIME.fullmatch(text):
            raise ValidationFailed(unreadable, {"called_at": unreadable})
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=LOCAL_TZ)
            moment = moment.astimezone(now.tzinfo)
        except (OverflowError, ValueError):
            raise ValidationFailed(unreadable, {"called_at": unreadable}) from None
        if moment > now + CLOCK_SLACK:
            message = _("The call cannot be in the future.")
            raise ValidationFailed(message, {"called_at": message})
    if ticket.rating_due_at is not None and moment < ticket.rating_due_at:
        message = _(
            "The enterprise could still rate online then (until %(when)s): a call is recorded after.",
            when=_local(ticket.rating_due_at),
        )
        raise ValidationFailed(message, {"called_at": message})
    previous = _last_call(ticket)
    if previous is not None and moment < _next_call_from(previous):
        message = _(
            "The previous call was at %(when)s: the next one is at least %(n)d working minutes after it.",
            when=_local(previous.called_at),
            n=int(current_app.config["FOLLOWUP_RETRY_MINUTES"]),
        )
        raise ValidationFailed(message, {"called_at": message})
    return moment


def _text(value: str | None, field: str, maximum: int, *, multiline: bool = True) -> str:
    text = (value or "").strip()
    refuse_control_characters(text, field, multiline=multiline)
    if len(text) > maximum:
        message = _("At most %(n)d characters.", n=maximum)
        raise ValidationFailed(message, {field: message})
    return text


def _collect(problems: dict[str, str], read: Callable[[], T]) -> T | None:
    """``read()``, or None with its refusal's fields added to ``problems`` (every field is checked)."""
    try:
        return read()
    except ValidationFailed as refused:
        problems.update(refused.fields)
        return None


def _payload(call: FollowupCall) -> dict[str, object]:
    payload: dict[str, object] = {
        "reached": call.reached,
        "attempt": call.attempt,
        "called_at": call.called_at.isoformat(),
    }
    if call.reached:
        payload.update(
            contact=call.contact,
            outcome=call.outcome.value if call.outcome else None,
            score=call.score.value if call.score else None,
        )
    elif call.comment:
        payload["note"] = call.comment  # for staff only (not a public payload key)
    return payload


def _new_call(ticket: Ticket, actor: User, when: datetime, now: datetime, **values: Any) -> FollowupCall:
    """The request's next call (its attempt counted since the latest resolution), made at ``when``."""
    return FollowupCall(
        ticket_id=ticket.id,
        attempt=attempts(ticket.id) + 1,
        called_at=when,
        recorded_at=now,
        caller_id=actor.id,
        **values,
    )


def record_call(
    ticket_id: int,
    actor: User,
    called_at: str | None,
    contact: str | None,
    outcome: str | None,
    score: str | None,
    comment: str | None,
    now: datetime,
) -> Ticket:
    """A follow-up call that reached the enterprise: the call, then the rating it stated.

    Refused (nothing written) unless every field is acceptable: ``contact`` required, ``outcome`` solved or
    unsolved, ``score`` one of the three, ``comment`` required when dissatisfied or unsolved.
    """
    ticket = tickets.begin("followup", ticket_id, actor)
    _check_caller(ticket, actor, now)
    problems: dict[str, str] = {}
    when = _collect(problems, lambda: call_time(called_at, ticket, now))
    person = _collect(problems, lambda: _text(contact, "contact", FOLLOWUP_CONTACT_MAX, multiline=False))
    if person == "":
        problems["contact"] = _("Say whom the call reached.")
    try:
        stated = FollowupOutcome(outcome or "")
    except ValueError:
        problems["outcome"] = str(ACTIONS["followup"].field("outcome").missing)
        stated = None
    try:
        score_value: RatingScore | None = tickets.rating_score(
            score, ACTIONS["followup"].field("score").missing
        )
    except ValidationFailed as refused:
        problems.update(refused.fields)
        score_value = None
    text = _collect(problems, lambda: _text(comment, "comment", TEXT_MAX))
    if text == "" and (score_value == RatingScore.DISSATISFIED or stated == FollowupOutcome.UNSOLVED):
        problems["comment"] = _("Write down what the contact said is still wrong.")
    if problems or when is None or not person or stated is None or score_value is None or text is None:
        raise ValidationFailed(next(iter(problems.values())), problems)
    call = _new_call(
        ticket,
        actor,
        when,
        now,
        reached=True,
        contact=person,
        outcome=stated,
        score=score_value,
        comment=text,
    )
    tickets.record_event(ticket, actor, EventKind.FOLLOWUP_CALLED, now, payload=_payload(call))
    rating = tickets.give_rating(
        ticket,
        actor,
        score_value,
        text,
        RatingSource.FOLLOWUP_CALL,
        now,
        {"via": "followup_call", "contact": person, "outcome": stated.value},
    )
    call.rating_id = rating.id
    db.session.add(call)
    db.session.flush()
    return ticket


def record_unanswered_call(
    ticket_id: int, actor: User, called_at: str | None, note: str | None, now: datetime
) -> Ticket:
    """A follow-up call nobody answered: the request stays in the queue, and the last allowed attempt
    (``FOLLOWUP_ATTEMPTS``) closes it unrated, the count of attempts on its CLOSED event."""
    ticket = tickets.begin("followup_unanswered", ticket_id, actor)
    _check_caller(ticket, actor, now)
    when = call_time(called_at, ticket, now)
    text = _text(note, "note", TEXT_MAX)
    call = _new_call(ticket, actor, when, now, reached=False, comment=text)
    db.session.add(call)
    tickets.record_event(ticket, actor, EventKind.FOLLOWUP_CALLED, now, payload=_payload(call))
    if call.attempt >= max_attempts():
        tickets.close_without_rating(ticket, actor, now, {"followup_attempts": call.attempt})
    db.session.flush()
    return ticket


def calls_of(ticket_id: int) -> list[FollowupCall]:
    """Every follow-up call of the request, first to last (a handful: attempts are bounded per resolution)."""
    return list(
        db.session.scalars(
            select(FollowupCall).where(FollowupCall.ticket_id == ticket_id).order_by(FollowupCall.id)
        )
    )
