"""Notifications: who is told what, in the app and by email (through the outbox).

The text of a notification is not stored: ``kind`` and ``params`` are, and :func:`render_notification`
turns them into a subject and a sentence in the reader's language.  ``params`` therefore carry everything
the sentence needs (the request number and title, the actor's name, a deadline), so that a notification
reads the same whatever happened to the request since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update

from hotline.auth.models import Role, User
from hotline.enterprises.models import Department
from hotline.errors import NotFound
from hotline.extensions import db
from hotline.notifications.models import Notification, NotificationKind
from hotline.outbox import services as outbox
from hotline.routing.labels import describe as describe_routing
from hotline.tickets import events
from hotline.tickets.models import EventKind, Ticket, TicketEvent, TicketState

EXCERPT_MAX = 200  # characters of a reply, answer or reason quoted in a notification


def notify(
    users: Iterable[User],
    kind: NotificationKind,
    now: datetime,
    *,
    ticket: Ticket | None = None,
    params: dict[str, Any] | None = None,
) -> list[Notification]:
    """One notification per distinct active user; an email is queued (outbox) for users with an address."""
    created: list[Notification] = []
    seen: set[int] = set()
    for user in users:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        row = Notification(
            user_id=user.id,
            ticket_id=ticket.id if ticket is not None else None,
            kind=kind,
            params=params or {},
            created_at=now,
            email_state="pending" if user.email else None,
        )
        db.session.add(row)
        created.append(row)
    if not created:
        return created
    emails = [(row, now) for row in created if row.email_state == "pending"]
    later: list[tuple[Notification, datetime]] | None = events.batch_state(_PENDING_EMAILS, list)
    if later is None:
        _queue_emails(emails)
    else:  # a batch of events (the clock sweep): one flush for all of its notifications, at its end
        later.extend(emails)
        events.at_batch_end(_PENDING_EMAILS, lambda: _queue_emails(later))
    return created


_PENDING_EMAILS = "hotline.notifications.pending_emails"
_MANAGERS = "hotline.notifications.managers"


def _queue_emails(emails: list[tuple[Notification, datetime]]) -> None:
    """Queue the email of each notification (an outbox message naming the notification's id): one flush for
    the notifications, one for the messages, however many there are."""
    db.session.flush()
    for row, now in emails:
        outbox.enqueue(
            outbox.SEND_EMAIL, {"notification_id": row.id}, now, ticket_id=row.ticket_id, flush=False
        )
    if emails:
        db.session.flush()


# --------------------------------------------------------------------------- who is told


def _active(query: Select[tuple[User]]) -> list[User]:
    return list(db.session.scalars(query.where(User.active.is_(True)).order_by(User.id)))


def _managers() -> list[User]:
    """The active managers; read once per batch of events (:func:`hotline.tickets.events.batch`), where every
    escalation of a sweep's batch names them."""
    cached: list[User] | None = events.batch_state(_MANAGERS, list)
    if cached:
        return list(cached)
    managers = _active(select(User).where(User.role == Role.MANAGER))
    if cached is not None:
        cached.extend(managers)
    return managers


def _assignee(ticket: Ticket) -> list[User]:
    # By id, not ``ticket.assignee``: the relationship is not refreshed until the next flush.
    if ticket.assignee_id is None:
        return []
    user = db.session.get(User, ticket.assignee_id)
    return [user] if user is not None and user.active else []


def _enterprise_contacts(ticket: Ticket) -> list[User]:
    return _active(
        select(User).where(User.role == Role.ENTERPRISE, User.enterprise_id == ticket.enterprise_id)
    )


def _department_staff(ticket: Ticket) -> list[User]:
    if ticket.department_id is None:
        return []
    return _active(
        select(User).where(User.role == Role.DEPARTMENT, User.department_id == ticket.department_id)
    )


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT_MAX else text[: EXCERPT_MAX - 1] + "…"


def _iso(moment: Any) -> str | None:
    if isinstance(moment, datetime):
        return moment.isoformat()
    if isinstance(moment, str) and moment:
        return moment
    return None


def _clock(event: TicketEvent, ticket: Ticket) -> str:
    """Which clock a warning or escalation is about: the payload says, else the state tells."""
    clock = str(event.payload.get("clock") or "")
    if clock in ("acknowledge", "resolve"):
        return clock
    return "acknowledge" if ticket.state == TicketState.ASSIGNED else "resolve"


def _due_at(event: TicketEvent, ticket: Ticket, clock: str) -> str | None:
    given = _iso(event.payload.get("due_at"))
    if given:
        return given
    return _iso(ticket.acknowledge_due_at if clock == "acknowledge" else ticket.resolve_due_at)


def _base_params(event: TicketEvent, ticket: Ticket) -> dict[str, Any]:
    actor = db.session.get(User, event.actor_id) if event.actor_id is not None else None
    return {
        "number": ticket.number,
        "title": ticket.title,
        "actor": actor.name if actor is not None else "",
    }


# A rule answers (recipients, kind, extra params) for an event, or None when nobody is told.
Rule = Callable[[TicketEvent, Ticket], tuple[list[User], NotificationKind, dict[str, Any]] | None]


def _on_assigned(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    if ticket.state == TicketState.IN_PROGRESS:  # handed over while in progress: due by its resolve deadline
        return (
            _assignee(ticket),
            NotificationKind.ASSIGNED,
            {"due_at": _iso(ticket.resolve_due_at), "in_progress": True},
        )
    return _assignee(ticket), NotificationKind.ASSIGNED, {"due_at": _iso(ticket.acknowledge_due_at)}


def _on_pooled(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    # Routing's reason is a code and its params: kept as such, and rendered in each reader's language by
    # render_notification.  An older event's reason (English prose) is kept as it was.
    reason = event.payload.get("reason")
    kept = dict(reason) if isinstance(reason, Mapping) else _excerpt(str(reason or ""))
    return _managers(), NotificationKind.POOLED, {"reason": kept}


def _to_enterprise(
    kind: NotificationKind,
) -> Rule:
    def rule(
        event: TicketEvent, ticket: Ticket
    ) -> tuple[list[User], NotificationKind, dict[str, Any]] | None:
        if not event.public:  # an internal note or answer never reaches the enterprise
            return None
        return _enterprise_contacts(ticket), kind, {"excerpt": _excerpt(event.body)}

    return rule


def _on_reopened(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    # A request reopened onto a liaison no longer active (deactivated after its work was handed over, while
    # this one awaited its rating) has nobody to work it: the managers are told, to hand it over.
    told = _assignee(ticket) or (_managers() if ticket.assignee_id is not None else [])
    return (
        told,
        NotificationKind.REOPENED,
        {"excerpt": _excerpt(event.body), "due_at": _iso(ticket.resolve_due_at)},
    )


def _on_info_added(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    holders = _assignee(ticket) + (_department_staff(ticket) if ticket.department_id else [])
    return holders, NotificationKind.INFO_ADDED, {"excerpt": _excerpt(event.body)}


def _on_withdrawn(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    return _assignee(ticket), NotificationKind.WITHDRAWN, {"excerpt": _excerpt(event.body)}


def _on_transferred(
    event: TicketEvent, ticket: Ticket
) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    department = db.session.get(Department, ticket.department_id) if ticket.department_id else None
    params = {
        "department": department.name if department else str(event.payload.get("department_name") or ""),
        "department_en": department.name_en if department else "",
        "excerpt": _excerpt(event.body),
    }
    return _department_staff(ticket), NotificationKind.TRANSFERRED, params


def _on_returned(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    return _managers(), NotificationKind.RETURNED, {"excerpt": _excerpt(event.body)}


def _clock_params(event: TicketEvent, ticket: Ticket, level: int | None = None) -> dict[str, Any]:
    clock = _clock(event, ticket)
    params: dict[str, Any] = {"clock": clock, "due_at": _due_at(event, ticket, clock)}
    if level is not None:
        params["level"] = int(event.payload.get("level") or level)
    return params


def _on_warning(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    return _assignee(ticket), NotificationKind.WARNING, _clock_params(event, ticket)


def _on_overdue(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    # Escalation level 1 goes to the assignee's supervisors; the model has no supervisor relation, so the
    # managers stand in for them.
    return _assignee(ticket) + _managers(), NotificationKind.OVERDUE, _clock_params(event, ticket, level=1)


def _on_escalated(event: TicketEvent, ticket: Ticket) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    return _managers(), NotificationKind.ESCALATED, _clock_params(event, ticket, level=2)


def _on_extension_requested(
    event: TicketEvent, ticket: Ticket
) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    params = {"days": event.payload.get("days"), "excerpt": _excerpt(event.body)}
    return _managers(), NotificationKind.EXTENSION_REQUESTED, params


def _on_extension_decided(
    event: TicketEvent, ticket: Ticket
) -> tuple[list[User], NotificationKind, dict[str, Any]]:
    approved = event.kind == EventKind.EXTENSION_APPROVED
    params = {
        "approved": approved,
        "due_at": _iso(event.payload.get("new_due_at"))
        or (_iso(ticket.resolve_due_at) if approved else None),
        "excerpt": _excerpt(event.body),
    }
    return _assignee(ticket), NotificationKind.EXTENSION_DECIDED, params


RULES: dict[EventKind, Rule] = {
    EventKind.ASSIGNED: _on_assigned,
    EventKind.POOLED: _on_pooled,
    EventKind.REPLIED: _to_enterprise(NotificationKind.REPLIED),
    EventKind.RESOLVED: _to_enterprise(NotificationKind.RESOLVED),
    EventKind.REOPENED: _on_reopened,
    EventKind.INFO_ADDED: _on_info_added,
    EventKind.WITHDRAWN: _on_withdrawn,
    EventKind.TRANSFERRED: _on_transferred,
    EventKind.RETURNED: _on_returned,
    EventKind.WARNING: _on_warning,
    EventKind.OVERDUE: _on_overdue,
    EventKind.ESCALATED: _on_escalated,
    EventKind.EXTENSION_REQUESTED: _on_extension_requested,
    EventKind.EXTENSION_APPROVED: _on_extension_decided,
    EventKind.EXTENSION_REFUSED: _on_extension_decided,
}


def on_ticket_event(event: TicketEvent, now: datetime) -> list[Notification]:
    """Tell the right people about a lifecycle event (called for every event the ticket services append).

    The actor is never told about their own action, inactive users are skipped, and internal events never
    reach the enterprise.  Returns the notifications created (each with an email queued when the user has an
    address).
    """
    rule = RULES.get(event.kind)
    if rule is None:
        return []
    ticket = event.ticket
    decided = rule(event, ticket)
    if decided is None:
        return []
    users, kind, extra = decided
    recipients = [u for u in users if u.id != event.actor_id]
    if not recipients:
        return []
    params = {**_base_params(event, ticket), **{k: v for k, v in extra.items() if v not in (None, "")}}
    return notify(recipients, kind, now, ticket=ticket, params=params)


# --------------------------------------------------------------------------- what they read


def _when(value: Any) -> str:
    """A deadline from ``params`` in local time (Asia/Shanghai), or an empty string."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    return str(format_datetime(moment, "yyyy-MM-dd HH:mm"))


def _department_name(params: dict[str, Any]) -> str:
    if str(get_locale() or "") == "en" and params.get("department_en"):
        return str(params["department_en"])
    return str(params.get("department") or "")


def _render_clock(kind: NotificationKind, p: dict[str, Any], due: str) -> tuple[str, str]:
    acknowledge = p.get("clock") == "acknowledge"
    if kind == NotificationKind.WARNING:
        subject = _("Request %(number)s is close to its deadline", number=p["number"])
        if acknowledge:
            text = _("Request %(number)s “%(title)s” must be acknowledged by %(due)s.", due=due, **p)
        else:
            text = _("Request %(number)s “%(title)s” must be resolved by %(due)s.", due=due, **p)
        return subject, text
    if kind == NotificationKind.OVERDUE:
        subject = _("Request %(number)s is overdue", number=p["number"])
        if acknowledge:
            text = _(
                "Request %(number)s “%(title)s” was not acknowledged by its deadline, %(due)s. "
                "It is escalated to the managers (level 1).",
                due=due,
                **p,
            )
        else:
            text = _(
                "Request %(number)s “%(title)s” was not resolved by its deadline, %(due)s. "
                "It is escalated to the managers (level 1).",
                due=due,
                **p,
            )
        return subject, text
    subject = _("Request %(number)s is escalated to level 2", number=p["number"])
    text = _(
        "Request %(number)s “%(title)s” is more than one working day past its deadline, %(due)s, "
        "and is escalated to the district managers (level 2).",
        due=due,
        **p,
    )
    return subject, text


CLAIM_KINDS = (
    NotificationKind.CLAIM_FILED,
    NotificationKind.CLAIM_CONFIRMED,
    NotificationKind.CLAIM_REJECTED,
)


def _render_claim(kind: NotificationKind, p: dict[str, Any]) -> tuple[str, str]:
    """A claim on a registered enterprise (:mod:`hotline.enterprises.claims`): filed, confirmed, rejected."""
    enterprise = str(p.get("enterprise") or "")
    if kind == NotificationKind.CLAIM_FILED:
        subject = _("A claim on %(enterprise)s awaits your review", enterprise=enterprise)
        text = _(
            "%(claimant)s registered as a contact of %(enterprise)s, which is already registered. Confirm "
            "the claim if they speak for it, or reject it, on the enterprise's claims page.",
            claimant=str(p.get("claimant") or ""),
            enterprise=enterprise,
        )
    elif kind == NotificationKind.CLAIM_CONFIRMED:
        subject = _("You are a contact of %(enterprise)s", enterprise=enterprise)
        text = _(
            "Your claim is confirmed: you are now a contact of %(enterprise)s and can file and follow its "
            "requests.",
            enterprise=enterprise,
        )
    else:
        subject = _("Your claim on %(enterprise)s is rejected", enterprise=enterprise)
        text = _(
            "Your claim to speak for %(enterprise)s is rejected, so your account is not attached to it. "
            "Ask the liaison of your building if you think this is a mistake.",
            enterprise=enterprise,
        )
    return subject, text


MEETING_KINDS = (
    NotificationKind.MEETING_INVITED,
    NotificationKind.MEETING_MOVED,
    NotificationKind.MEETING_CANCELLED,
)


def _render_meeting(kind: NotificationKind, p: dict[str, Any]) -> tuple[str, str]:
    """A meeting the reader's enterprise is invited to (:mod:`hotline.meetings.notices`)."""
    title = str(p.get("meeting_title") or "")
    when = _when(p.get("starts_at"))
    place = str(p.get("place") or "")
    if kind == NotificationKind.MEETING_INVITED:
        subject = _("You are invited to %(title)s", title=title)
        text = _(
            "%(host)s invites your enterprise to %(title)s on %(when)s at %(place)s. Confirm whether you "
            "will attend, and send your questions in advance, on the meeting's page.",
            host=str(p.get("host") or ""),
            title=title,
            when=when,
            place=place,
        )
    elif kind == NotificationKind.MEETING_MOVED:
        subject = _("%(title)s is moved", title=title)
        text = _("%(title)s now takes place on %(when)s at %(place)s.", title=title, when=when, place=place)
    else:
        subject = _("%(title)s is cancelled", title=title)
        text = _("%(title)s, planned for %(when)s, is cancelled.", title=title, when=when)
    return subject, text


def meeting_url(meeting_id: int) -> str:
    """The absolute address of a meeting's page, for emails (see :func:`ticket_url`)."""
    path = current_app.url_map.bind("localhost").build("meetings.detail", {"meeting_id": meeting_id})
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + path


def render_notification(notification: Notification) -> tuple[str, str]:
    """The subject and text of a notification in the current locale, from its kind and params.

    The text is whole sentences.  A quoted reply, answer or reason (``params["excerpt"]``) and the link to
    the request are not part of it: the list page and the email templates show them beneath the text.
    """
    p: dict[str, Any] = {"number": "", "title": "", "actor": "", "level": 1, **(notification.params or {})}
    p["level"] = int(p.get("level") or 1)
    due = _when(p.get("due_at"))
    kind = notification.kind
    subject: str
    text: str
    if kind == NotificationKind.ASSIGNED and p.get("in_progress"):
        subject = _("Request %(number)s is handed over to you", number=p["number"])
        if due:
            text = _(
                "Request %(number)s “%(title)s”, in progress, is handed over to you. It is due by %(due)s.",
                due=due,
                **p,
            )
        else:
            text = _("Request %(number)s “%(title)s”, in progress, is handed over to you.", **p)
    elif kind == NotificationKind.ASSIGNED:
        subject = _("Request %(number)s is assigned to you", number=p["number"])
        if due:
            text = _(
                "Request %(number)s “%(title)s” is assigned to you. Please acknowledge it by %(due)s.",
                due=due,
                **p,
            )
        else:
            text = _("Request %(number)s “%(title)s” is assigned to you.", **p)
    elif kind == NotificationKind.POOLED:
        subject = _("Request %(number)s is waiting in the dispatch pool", number=p["number"])
        reason = describe_routing(p.get("reason"))  # routing's reason, in the reader's language
        if reason:
            text = _(
                "No liaison could take request %(number)s “%(title)s”; it waits in the dispatch pool "
                "for a manager to dispatch it. %(reason)s",
                **{**p, "reason": reason},
            )
        else:
            text = _(
                "No liaison could take request %(number)s “%(title)s”; it waits in the dispatch pool "
                "for a manager to dispatch it.",
                **p,
            )
    elif kind in (NotificationKind.WARNING, NotificationKind.OVERDUE, NotificationKind.ESCALATED):
        subject, text = _render_clock(kind, p, due)
    elif kind == NotificationKind.REPLIED:
        subject = _("New reply to your request %(number)s", number=p["number"])
        if p["actor"]:
            text = _("%(actor)s replied to your request %(number)s “%(title)s”.", **p)
        else:
            text = _("Your request %(number)s “%(title)s” has a new reply.", **p)
    elif kind == NotificationKind.RESOLVED:
        subject = _("Your request %(number)s is resolved", number=p["number"])
        text = _(
            "Your request %(number)s “%(title)s” is resolved. Please tell us whether you are satisfied "
            "with the answer.",
            **p,
        )
    elif kind == NotificationKind.REOPENED:
        subject = _("Request %(number)s is reopened", number=p["number"])
        text = _(
            "The enterprise is not satisfied with the answer to request %(number)s “%(title)s”; "
            "it is back in progress with you.",
            **p,
        )
    elif kind == NotificationKind.TRANSFERRED:
        department = _department_name(p)
        subject = _(
            "Request %(number)s is transferred to %(department)s", number=p["number"], department=department
        )
        text = _(
            "Request %(number)s “%(title)s” is transferred to %(department)s for handling.",
            department=department,
            **{k: v for k, v in p.items() if k != "department"},
        )
    elif kind == NotificationKind.INFO_ADDED:
        subject = _("More information on request %(number)s", number=p["number"])
        text = _("%(actor)s added information to request %(number)s “%(title)s”.", **p)
    elif kind == NotificationKind.WITHDRAWN:
        subject = _("Request %(number)s is withdrawn", number=p["number"])
        text = _("%(actor)s withdrew request %(number)s “%(title)s”; nothing more is needed.", **p)
    elif kind == NotificationKind.RETURNED:
        subject = _("Request %(number)s is returned and awaits your review", number=p["number"])
        text = _("%(actor)s returned request %(number)s “%(title)s” for re-dispatch.", **p)
    elif kind == NotificationKind.EXTENSION_REQUESTED:
        subject = _("Extension requested on request %(number)s", number=p["number"])
        if p.get("days"):
            text = _(
                "%(actor)s asks for %(days)d more working days on request %(number)s “%(title)s”.",
                **{**p, "days": int(p["days"])},
            )
        else:
            text = _("%(actor)s asks for more time on request %(number)s “%(title)s”.", **p)
    elif kind == NotificationKind.EXTENSION_DECIDED:
        if p.get("approved"):
            subject = _("Extension approved on request %(number)s", number=p["number"])
            if due:
                text = _(
                    "Your extension on request %(number)s “%(title)s” is approved; "
                    "the new deadline is %(due)s.",
                    due=due,
                    **p,
                )
            else:
                text = _("Your extension on request %(number)s “%(title)s” is approved.", **p)
        else:
            subject = _("Extension refused on request %(number)s", number=p["number"])
            text = _(
                "Your extension on request %(number)s “%(title)s” is refused; the deadline is unchanged.",
                **p,
            )
    elif kind == NotificationKind.CALENDAR_MISSING:
        year = p.get("year", "")
        subject = _("The working days of %(year)s are not entered", year=year)
        text = _(
            "The working days of %(year)s are not entered yet. Deadlines that fall in that year cannot "
            "be computed until a manager enters them on the calendar page.",
            year=year,
        )
    elif kind in CLAIM_KINDS:
        subject, text = _render_claim(kind, p)
    elif kind in MEETING_KINDS:
        subject, text = _render_meeting(kind, p)
    elif kind == NotificationKind.MERGED:
        subject = _(
            "Your request %(number)s is merged into %(main)s", number=p["number"], main=p.get("main", "")
        )
        text = _(
            "Your request %(number)s “%(title)s” asks what request %(main)s already asks; it is merged into "
            "it (并单). You will be told of its answer, shown on your request's page.",
            main=p.get("main", ""),
            **{k: v for k, v in p.items() if k != "main"},
        )
    elif kind == NotificationKind.MERGED_ANSWERED:
        subject = _("Your request %(number)s has its answer", number=p["number"])
        text = _(
            "Request %(main)s, into which your request %(number)s “%(title)s” was merged, is answered. "
            "The answer is shown on your request's page: please rate it there.",
            main=p.get("main", ""),
            **{k: v for k, v in p.items() if k != "main"},
        )
    else:  # a kind added later without its sentence: still say something useful
        subject = _("News on request %(number)s", number=p["number"])
        text = subject
    return subject, text


def ticket_url(number: str) -> str:
    """The absolute address of a request's page, for emails.

    Workers have no request to take the host from, and SERVER_NAME is usually unset, so the address is
    built from the configured ``PUBLIC_BASE_URL``.
    """
    path = current_app.url_map.bind("localhost").build("tickets.detail", {"number": number})
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + path


# --------------------------------------------------------------------------- the reader's list


def own_notifications(user: User) -> Select[tuple[Notification]]:
    """The user's notifications, newest first."""
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def unread_count(user_id: int) -> int:
    """How many notifications the user has not read (an indexed count: ix_notifications_user_read)."""
    query = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(db.session.scalar(query) or 0)


def mark_read(user: User, notification_id: int, now: datetime) -> Notification:
    """Mark one of the user's notifications as read; another user's answers :class:`NotFound`."""
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("There is no such notification."))
    if row.read_at is None:
        row.read_at = now
        db.session.flush()
    return row


def mark_all_read(user: User, now: datetime) -> int:
    """Mark every unread notification of the user as read; returns how many were unread."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    db.session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
