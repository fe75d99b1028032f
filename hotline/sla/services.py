"""Working-day calendar administration, clock settings, recomputation and extensions (延期).

Services take the acting user (None for the system) and ``now``; they flush, never commit, and raise
:mod:`hotline.errors` domain errors with translated messages.  Every change to the calendar, the working
hours or a category's clocks re-derives the deadlines of the open requests (:func:`recompute_open_clocks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, extract, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from hotline.audit import services as audit
from hotline.audit.models import AuditAction
from hotline.auth.models import Role, User
from hotline.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.notifications import services as notifications
from hotline.notifications.models import NotificationKind
from hotline.sla import clocks, notice
from hotline.sla.calendar import (
    WORKING_HOURS_KEY,
    bump_calendar_version,
    current_calendar,
    known_years,
    put_setting,
    year_is_known,
)
from hotline.sla.models import (
    AlertLevel,
    CalendarDay,
    Clock,
    ClockAlert,
    DaySource,
    Extension,
    ExtensionState,
    Setting,
)
from hotline.sla.worktime import (
    CalendarMissing,
    HoursError,
    WorkCalendar,
    format_hours,
    package_days,
    package_years,
)
from hotline.sla.worktime import parse_hours as _parse_hours
from hotline.text import refuse_control_characters
from hotline.tickets.models import Category, EventKind, Ticket, TicketState
from hotline.tickets.queries import get_visible_ticket_by_id
from hotline.tickets.services import record_event
from hotline.tickets.workflow import ACTIONS, EXTENSION_DAYS_MAX, EXTENSION_TEXT_MAX, check, refusal
from hotline.timeutil import iso, local_date

YEAR_MIN, YEAR_MAX = 2000, 2100
NOTE_MAX = 200
TEXT_MAX = EXTENSION_TEXT_MAX  # an extension's reason and a decision's note
ACKNOWLEDGE_MINUTES_MAX = 5 * 24 * 60
RESOLVE_DAYS_MAX = 90
MISSING_NOTIFIED_KEY = "calendar_missing_notified:{year}"
# From this day of the year on, next year's calendar should be there (the State Council publishes it
# around November).
NEXT_YEAR_WARNING_FROM = (11, 1)


# --------------------------------------------------------------------------- helpers


def require_manager(actor: User | None, message: str) -> None:
    """Raise :class:`Forbidden` with ``message`` unless ``actor`` is a manager (or an admin)."""
    if actor is None or not actor.is_staff:
        raise Forbidden(message)


def _whole_number(value: object, field: str, low: int, high: int) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if number is None:
        message = _("Enter a whole number.")
        raise ValidationFailed(message, {field: message})
    if not low <= number <= high:
        message = _("Enter a number from %(low)d to %(high)d.", low=low, high=high)
        raise ValidationFailed(message, {field: message})
    return number


def _text(value: str | None, field: str, maximum: int, *, required: bool) -> str:
    text = (value or "").strip()
    refuse_control_characters(text, field)
    if required and not text:
        message = _("This field is required.")
        raise ValidationFailed(message, {field: message})
    if len(text) > maximum:
        message = _("At most %(n)d characters.", n=maximum)
        raise ValidationFailed(message, {field: message})
    return text


def _calendar_changed(now: datetime, reason: str) -> int:
    bump_calendar_version(now)
    return recompute_open_clocks(now, reason=reason)


# --------------------------------------------------------------------------- the calendar


def sync_calendar_from_package(now: datetime, years: Iterable[int] | None = None) -> list[int]:
    """Load each year ``chinese-calendar`` knows (or only ``years``) that has no rows; return those loaded.

    A year that already has rows is never touched, so managers' overrides survive a package upgrade.
    Two processes syncing at once each load a year at most once (a savepoint per year).  What it loads is
    in the audit log (by the system).
    """
    loaded = _load_package_years(now, years)
    if loaded:
        audit.record(None, AuditAction.CALENDAR_SYNCED, ", ".join(map(str, loaded)), {"years": loaded}, now)
    return loaded


def _load_package_years(now: datetime, years: Iterable[int] | None) -> list[int]:
    """:func:`sync_calendar_from_package` without its audit entry (:func:`enter_year` writes its own)."""
    wanted = sorted(set(years)) if years is not None else package_years()
    present = known_years()
    loaded: list[int] = []
    for year in wanted:
        if year in present:
            continue
        days = package_days(year)
        if days is None:
            continue
        rows: list[dict[str, Any]] = [
            {
                "day": day,
                "is_workday": is_workday,
                "source": DaySource.PACKAGE,
                "note": note,
                "updated_at": now,
                "updated_by_id": None,
            }
            for day, is_workday, note in days
        ]
        try:
            with db.session.begin_nested():
                db.session.execute(insert(CalendarDay), rows)
        except IntegrityError:  # another process loaded it first
            continue
        loaded.append(year)
    if loaded:
        _calendar_changed(now, "calendar")
    return loaded


def enter_year(year: int | str, actor: User | None, now: datetime) -> DaySource:
    """Enter a whole year: from ``chinese-calendar`` when it knows the year, else Monday to Friday to edit.

    Managers only.  Returns the source used (``package`` or ``weekday``).  Raises :class:`Forbidden`,
    :class:`ValidationFailed` (field ``year``), :class:`InvalidTransition` when the year already has days.
    """
    require_manager(actor, _("Only a manager may edit the working-day calendar."))
    number = _whole_number(year, "year", YEAR_MIN, YEAR_MAX)
    if year_is_known(number):
        raise InvalidTransition(
            _("The calendar already has %(year)d; change single days instead.", year=number)
        )
    if _load_package_years(now, years=[number]):
        audit.record(actor, AuditAction.CALENDAR_YEAR_ENTERED, str(number), {"source": "package"}, now)
        return DaySource.PACKAGE
    day = date(number, 1, 1)
    rows: list[dict[str, Any]] = []
    while day.year == number:
        rows.append(
            {
                "day": day,
                "is_workday": day.weekday() < 5,
                "source": DaySource.WEEKDAY,
                "note": "",
                "updated_at": now,
                "updated_by_id": actor.id if actor else None,
            }
        )
        day += timedelta(days=1)
    try:
        with db.session.begin_nested():
            db.session.execute(insert(CalendarDay), rows)
    except IntegrityError:
        raise InvalidTransition(
            _("The calendar already has %(year)d; change single days instead.", year=number)
        ) from None
    _calendar_changed(now, "calendar")
    audit.record(actor, AuditAction.CALENDAR_YEAR_ENTERED, str(number), {"source": "weekday"}, now)
    return DaySource.WEEKDAY


def calendar_year(year: int, actor: User | None) -> list[CalendarDay]:
    """Every day the calendar has for ``year``, in order (empty when the year is not entered).

    Managers only.  Raises :class:`Forbidden`, :class:`ValidationFailed` (field ``year``) outside
    2000 to 2100.
    """
    require_manager(actor, _("Only managers may read the working-day calendar."))
    if not YEAR_MIN <= year <= YEAR_MAX:
        message = _("Enter a number from %(low)d to %(high)d.", low=YEAR_MIN, high=YEAR_MAX)
        raise ValidationFailed(message, {"year": message})
    return list(
        db.session.scalars(
            select(CalendarDay)
            .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
            .order_by(CalendarDay.day)
        )
    )


def set_day(day: date, is_workday: bool, note: str, actor: User | None, now: datetime) -> CalendarDay:
    """A manager marks one day working or not (a local closure, a newly published holiday, a make-up day).

    Raises :class:`Forbidden`, :class:`ValidationFailed` (fields ``day``, ``note``) when the day's year has
    not been entered.
    """
    require_manager(actor, _("Only a manager may edit the working-day calendar."))
    text = _text(note, "note", NOTE_MAX, required=False)
    if not year_is_known(day.year):
        message = _("The calendar has no %(year)d yet: enter the year first.", year=day.year)
        raise ValidationFailed(message, {"day": message})
    row = db.session.get(CalendarDay, day)
    if row is None:  # a known year has every day; this only guards a hand-edited table
        row = CalendarDay(day=day)
        db.session.add(row)
    row.is_workday = bool(is_workday)
    row.note = text
    row.source = DaySource.OVERRIDE
    row.updated_at = now
    row.updated_by_id = actor.id if actor else None
    db.session.flush()
    _calendar_changed(now, "calendar")
    details = {"is_workday": row.is_workday, "note": row.note}
    audit.record(actor, AuditAction.CALENDAR_DAY_SET, day.isoformat(), details, now)
    return row


def set_working_hours(text: str, actor: User | None, now: datetime) -> str:
    """Set the daily working periods, e.g. ``09:00-12:00,13:30-17:30``; returns the stored canonical text.

    Raises :class:`Forbidden`, :class:`ValidationFailed` (field ``hours``).
    """
    require_manager(actor, _("Only a manager may change the working hours."))
    try:
        periods = _parse_hours(text or "")
    except HoursError as error:
        message = _hours_message(error)
        raise ValidationFailed(message, {"hours": message}) from None
    canonical = format_hours(periods)
    put_setting(WORKING_HOURS_KEY, canonical, now)
    _calendar_changed(now, "working_hours")
    return canonical


def _hours_message(error: HoursError) -> str:
    part = error.part
    messages = {
        "format": lambda: _("“%(part)s” is not a period like 09:00-12:00.", part=part),
        "order": lambda: _("“%(part)s” ends before it starts.", part=part),
        "overlap": lambda: _("“%(part)s” overlaps the period before it.", part=part),
        "empty": lambda: _("Enter at least one working period, like 09:00-12:00."),
    }
    return messages[error.reason]()


def set_category_clocks(
    category_id: int,
    acknowledge_minutes: int | str,
    acknowledge_minutes_urgent: int | str,
    resolve_days: int | str,
    resolve_days_urgent: int | str,
    actor: User | None,
    now: datetime,
) -> Category:
    """Set a category's limits: acknowledge in working minutes, resolve in working days, each also urgent.

    An urgent limit may not be longer than the normal one.  Open requests of the category get their deadlines
    re-derived.  Raises :class:`Forbidden`, :class:`NotFound`, :class:`ValidationFailed` (fields named like
    the arguments, all reported at once).
    """
    require_manager(actor, _("Only a manager may change the clocks."))
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound(_("No such category."))
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    limits = {
        "acknowledge_minutes": (acknowledge_minutes, ACKNOWLEDGE_MINUTES_MAX),
        "acknowledge_minutes_urgent": (acknowledge_minutes_urgent, ACKNOWLEDGE_MINUTES_MAX),
        "resolve_days": (resolve_days, RESOLVE_DAYS_MAX),
        "resolve_days_urgent": (resolve_days_urgent, RESOLVE_DAYS_MAX),
    }
    for field, (value, high) in limits.items():
        try:
            values[field] = _whole_number(value, field, 1, high)
        except ValidationFailed as error:
            errors.update(error.fields)
    for normal, urgent in (
        ("acknowledge_minutes", "acknowledge_minutes_urgent"),
        ("resolve_days", "resolve_days_urgent"),
    ):
        if normal in values and urgent in values and values[urgent] > values[normal]:
            errors[urgent] = _("The urgent limit may not be longer than the normal one.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    changes = {field: [getattr(category, field), value] for field, value in values.items()}
    for field, value in values.items():
        setattr(category, field, value)
    db.session.flush()
    recompute_open_clocks(now, reason="category_clocks", category_id=category.id)
    changes = {field: pair for field, pair in changes.items() if pair[0] != pair[1]}
    if changes:
        audit.record(actor, AuditAction.CATEGORY_CLOCKS_SET, category.code, {"changes": changes}, now)
    return category


def missing_years(now: datetime) -> list[int]:
    """Years a clock may need now that have no calendar: this year, and next year from 1 November on."""
    today = local_date(now)
    wanted = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_WARNING_FROM:
        wanted.append(today.year + 1)
    return [year for year in wanted if not year_is_known(year)]


def check_missing_years(now: datetime) -> list[int]:
    """Tell the managers, once per year, that a year the clocks need has no calendar; return missing years.

    For the beat.  The Setting ``calendar_missing_notified:<year>`` records that they were told; it is
    inserted in a savepoint first, so two beats racing tell them once.
    """
    missing = missing_years(now)
    for year in missing:
        key = MISSING_NOTIFIED_KEY.format(year=year)
        if db.session.get(Setting, key) is not None:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(Setting(key=key, value=now.isoformat(), updated_at=now))
        except IntegrityError:
            continue
        managers = db.session.scalars(
            select(User).where(User.role == Role.MANAGER, User.active.is_(True)).order_by(User.id)
        ).all()
        notifications.notify(managers, NotificationKind.CALENDAR_MISSING, now, params={"year": year})
    return missing


# --------------------------------------------------------------------------- recomputation


def _approved_extension_days(ticket: Ticket) -> int:
    """Working days granted to the running resolve clock (extensions asked since it started)."""
    if ticket.resolve_started_at is None:
        return 0
    total = db.session.scalar(
        select(func.coalesce(func.sum(Extension.days), 0)).where(
            Extension.ticket_id == ticket.id,
            Extension.state == ExtensionState.APPROVED,
            Extension.created_at >= ticket.resolve_started_at,
        )
    )
    return int(total or 0)


def _clock_of(ticket: Ticket) -> Clock | None:
    """The clock a request is on, counting a returned request as on the clock it was returned from."""
    state = ticket.state
    if state == TicketState.RETURNED:
        state = ticket.returned_from_state or state
    if state == TicketState.ASSIGNED:
        return Clock.ACKNOWLEDGE
    if state == TicketState.IN_PROGRESS:
        return Clock.RESOLVE
    return None


def recompute_open_clocks(now: datetime, reason: str = "calendar", category_id: int | None = None) -> int:
    """Re-derive the running deadline of every open request (or those of one category); return how many moved.

    Acknowledge deadlines from ``assigned_at``; resolve deadlines from ``resolve_started_at`` plus the
    approved extensions.  A request whose deadline moved gets a CLOCKS_RECOMPUTED event (internal) with
    the old and new deadlines, its alert schedule is renewed and its escalation level reset when the new
    deadline has not passed.  Rows are locked in id order.
    """
    calendar = current_calendar()
    query = (
        select(Ticket)
        .where(Ticket.state.in_((TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.RETURNED)))
        .order_by(Ticket.id)
        .with_for_update(of=Ticket)
    )
    if category_id is not None:
        query = query.where(Ticket.category_id == category_id)
    changed = 0
    for ticket in db.session.scalars(query).all():
        clock = _clock_of(ticket)
        if clock == Clock.ACKNOWLEDGE and ticket.assigned_at is not None:
            start, old = ticket.assigned_at, ticket.acknowledge_due_at
            try:
                new: datetime | None = clocks.acknowledge_due(ticket, start, calendar)
            except CalendarMissing:
                new = None
            ticket.acknowledge_due_at = new
        elif clock == Clock.RESOLVE and ticket.resolve_started_at is not None:
            start, old = ticket.resolve_started_at, ticket.resolve_due_at
            try:
                new = clocks.resolve_due(ticket, start, calendar, _approved_extension_days(ticket))
            except CalendarMissing:
                new = None
            ticket.resolve_due_at = new
        else:
            continue
        clocks.schedule(ticket, clock, start, new, calendar)
        if new == old:
            continue
        changed += 1
        if old is not None and new is not None:
            _carry_alerts(ticket, clock, start, old, new, now, calendar)
        if new is not None and new > now and ticket.escalation_level:
            ticket.escalation_level = 0
        record_event(
            ticket,
            None,
            EventKind.CLOCKS_RECOMPUTED,
            now,
            public=False,
            payload={"clock": clock.value, "old_due_at": iso(old), "new_due_at": iso(new), "reason": reason},
        )
    db.session.flush()
    return changed


def _carry_alerts(
    ticket: Ticket,
    clock: Clock,
    start: datetime,
    old: datetime,
    new: datetime,
    now: datetime,
    calendar: WorkCalendar,
) -> None:
    """Keep the alerts already raised for a recomputed clock whose moment has come under the new deadline.

    A recompute (calendar, hours, category limits) does not start a new clock: a level already raised and
    still reached must not be raised again (DESIGN §5: once per level per clock).  A level no longer reached
    (the deadline moved later) may be raised again when its new moment comes.
    """
    raised = set(
        db.session.scalars(
            select(ClockAlert.level).where(
                ClockAlert.ticket_id == ticket.id, ClockAlert.clock == clock, ClockAlert.due_at == old
            )
        )
    )
    if not raised:
        return
    try:
        moments = clocks.thresholds(start, new, calendar)
    except CalendarMissing:
        return
    reached = {
        AlertLevel.WARNING: moments.warning_at <= now,
        AlertLevel.OVERDUE: moments.due_at <= now,
        AlertLevel.ESCALATION_2: moments.escalation_2_at is not None and moments.escalation_2_at <= now,
    }
    for level in raised:
        if reached[level]:
            db.session.add(
                ClockAlert(ticket_id=ticket.id, clock=clock, level=level, due_at=new, created_at=now)
            )


# --------------------------------------------------------------------------- extensions (延期)


def _pending_extension(ticket: Ticket) -> Extension | None:
    query = select(Extension).where(
        Extension.ticket_id == ticket.id, Extension.state == ExtensionState.PENDING
    )
    if ticket.resolve_started_at is not None:
        query = query.where(Extension.created_at >= ticket.resolve_started_at)
    return db.session.scalars(query.limit(1)).first()


def pending_extension_on_clock(ticket: Ticket) -> Extension | None:
    """The extension waiting for a manager on the request's running resolve clock, if any."""
    return _pending_extension(ticket)


def has_pending_extension(ticket: Ticket, actor: User) -> bool:
    """Whether the page should offer the decision on an extension (a manager, one waiting on this clock)."""
    return _pending_extension(ticket) is not None


def may_ask_for_extension(ticket: Ticket, actor: User) -> bool:
    """Whether the page should offer to ask for more time: one extension at a time on the running clock."""
    return _pending_extension(ticket) is None


def request_extension(
    ticket_id: int, actor: User, days: int | str | None, reason: str, now: datetime
) -> Extension:
    """The assignee of a request in progress asks for 1 to 30 more working days on the resolve clock.

    One request at a time.  Raises :class:`NotFound`, :class:`InvalidTransition` (not in progress, one
    already waiting), :class:`Forbidden` (not the assignee), :class:`ValidationFailed` (fields
    ``working_days``, ``reason``).
    """
    ticket = get_visible_ticket_by_id(actor, ticket_id, for_update=True)
    check("extend", ticket, actor)
    errors: dict[str, str] = {}
    number, text = 0, ""
    try:
        number = _whole_number(days if days is not None else "", "working_days", 1, EXTENSION_DAYS_MAX)
    except ValidationFailed as error:
        errors.update(error.fields)
    try:
        text = _text(reason, "reason", TEXT_MAX, required=True)
    except ValidationFailed as error:
        errors.update(error.fields)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    if _pending_extension(ticket) is not None:
        raise InvalidTransition(_("An extension for this request is already waiting for a manager."))
    extension = Extension(
        ticket_id=ticket.id,
        requested_by_id=actor.id,
        days=number,
        reason=text,
        state=ExtensionState.PENDING,
        created_at=now,
        old_due_at=ticket.resolve_due_at,
    )
    db.session.add(extension)
    db.session.flush()
    record_event(
        ticket,
        actor,
        EventKind.EXTENSION_REQUESTED,
        now,
        body=text,
        payload={"extension_id": extension.id, "days": number, "due_at": iso(ticket.resolve_due_at)},
    )
    return extension


def decide_pending_extension(
    ticket_id: int, actor: User, approve: bool | None, note: str, now: datetime
) -> Extension:
    """A manager decides on the extension waiting on the request's running clock (:func:`decide_extension`).

    Raises :class:`InvalidTransition` when none is waiting, and what :func:`decide_extension` raises.
    """
    ticket = get_visible_ticket_by_id(actor, ticket_id)
    check("decide_extension", ticket, actor)
    pending = _pending_extension(ticket)
    if pending is None:
        raise InvalidTransition(_("No extension is waiting for a decision on this request."))
    return decide_extension(pending.id, actor, approve, note, now)


def decide_extension(
    extension_id: int, actor: User, approve: bool | None, note: str, now: datetime
) -> Extension:
    """A manager approves (the deadline moves ``days`` working days later) or refuses (a note is required).

    Alerts raised for the old deadline stay; the new deadline may raise its own.  The approval is public:
    the enterprise sees the new deadline.  Raises :class:`Forbidden`, :class:`NotFound`,
    :class:`InvalidTransition` (already decided, request no longer in progress, no deadline to move),
    :class:`ValidationFailed` (field ``note``).
    """
    require_manager(actor, _("Only a manager may decide on extensions."))
    extension = db.session.get(Extension, extension_id)
    if extension is None:
        raise NotFound(_("No such extension request."))
    ticket = get_visible_ticket_by_id(actor, extension.ticket_id, for_update=True)
    db.session.refresh(extension, with_for_update=True)
    if extension.state != ExtensionState.PENDING:
        raise InvalidTransition(_("This extension request has already been decided."))
    check("decide_extension", ticket, actor)  # the table's rule, whichever page or call decides
    on_its_clock = ticket.resolve_started_at is None or extension.created_at >= ticket.resolve_started_at
    if not on_its_clock:
        raise refusal(ACTIONS["decide_extension"], ticket)
    if approve is None:
        message = str(ACTIONS["decide_extension"].field("approve").missing)
        raise ValidationFailed(message, {"approve": message})
    payload: dict[str, Any] = {"extension_id": extension.id, "days": extension.days}
    if approve:
        text = _text(note, "note", TEXT_MAX, required=False)
        old = ticket.resolve_due_at
        if old is None:
            raise InvalidTransition(
                _("The request has no deadline to move: the working-day calendar is missing a year.")
            )
        try:
            new = current_calendar().add_working_days(old, extension.days)
        except CalendarMissing as missing:
            raise InvalidTransition(
                _("The working-day calendar has no %(year)d yet: enter the year first.", year=missing.year)
            ) from None
        ticket.resolve_due_at = new
        if new > now:
            ticket.escalation_level = 0
        assert ticket.resolve_started_at is not None
        clocks.schedule(ticket, Clock.RESOLVE, ticket.resolve_started_at, new)
        extension.state = ExtensionState.APPROVED
        extension.old_due_at = old
        extension.new_due_at = new
        kind = EventKind.EXTENSION_APPROVED
        public = True
        payload.update(old_due_at=iso(old), new_due_at=iso(new))
    else:
        text = _text(note, "note", TEXT_MAX, required=True)
        extension.state = ExtensionState.REFUSED
        kind = EventKind.EXTENSION_REFUSED
        public = False
    extension.decided_by_id = actor.id
    extension.decided_at = now
    extension.decision_note = text
    db.session.flush()
    record_event(ticket, actor, kind, now, body=text, public=public, payload=payload)
    return extension


def pending_extensions() -> Select[tuple[Extension]]:
    """Extension requests waiting for a manager, oldest first (a SELECT, for ``db.paginate``).

    Only those still on their clock: the request in progress since before the extension was asked.  One
    whose request was resolved, returned or withdrawn meanwhile can no longer be decided, so it is not listed.
    """
    return (
        select(Extension)
        .join(Ticket, Ticket.id == Extension.ticket_id)
        .where(
            Extension.state == ExtensionState.PENDING,
            Ticket.state == TicketState.IN_PROGRESS,
            or_(Ticket.resolve_started_at.is_(None), Extension.created_at >= Ticket.resolve_started_at),
        )
        .order_by(Extension.created_at, Extension.id)
    )


# ------------------------------------------------------------------------ a year from the notice (issue 11.7)
#
# A manager enters a year as the State Council publishes it (holiday ranges and make-up working days, typed
# or as a CSV); the plan is every day of the year, compared with what the calendar holds, shown as month
# grids before anything is saved.  Saving writes only the days that differ, in the request's one transaction,
# and recomputes the open clocks once (as set_day does).  When the chinese-calendar package learns a year
# that was entered by hand, `flask calendar sync` reports every day where they differ; --apply takes the
# package's days.

NOTICE_TEXT_MAX = 5000
NOTICE_LINES_MAX = 200
MAKEUP_NOTE = "调休上班"  # data, like the package's notes: the notice's own words


@dataclass(frozen=True)
class PlannedDay:
    """One day of an entered year: what it will be, and what the calendar holds now (None: not entered)."""

    day: date
    is_workday: bool
    note: str
    in_notice: bool  # named by the notice (a holiday or a make-up working day), not a plain weekday/weekend
    stored_workday: bool | None
    stored_note: str

    @property
    def changed(self) -> bool:
        """Working or not differs from what is stored (a year not entered yet has nothing to differ from)."""
        return self.stored_workday is not None and self.stored_workday != self.is_workday


@dataclass
class NoticePlan:
    """A whole year as a notice describes it, against the calendar; see :func:`plan_notice`."""

    year: int
    days: list[PlannedDay]
    ranges: list[notice.NoticeRange]
    outside: list[date]
    year_known: bool

    @property
    def changed(self) -> list[PlannedDay]:
        return [day for day in self.days if day.changed]

    @property
    def holidays(self) -> int:
        return sum(1 for day in self.days if day.in_notice and not day.is_workday)

    @property
    def makeup_days(self) -> int:
        return sum(1 for day in self.days if day.in_notice and day.is_workday)


def _problem_message(problem: notice.NoticeProblem) -> str:
    params = problem.params
    reasons = {
        "unexpected": lambda: _(
            "cannot read “%(part)s”: expected a date like 2月14日, a range like 2月15日至23日, 休 or 班.",
            part=params.get("part", ""),
        ),
        "no_month": lambda: _("“%(part)s” has no month: write it like 2月14日.", part=params.get("part", "")),
        "bad_date": lambda: _("“%(part)s” is not a date.", part=params.get("part", "")),
        "reversed": lambda: _("the range “%(part)s” ends before it starts.", part=params.get("part", "")),
        "too_long": lambda: _(
            "the range “%(part)s” is longer than %(days)s days.",
            part=params.get("part", ""),
            days=params.get("days", ""),
        ),
        "dangling_range": lambda: _("the range “%(part)s” has no end date.", part=params.get("part", "")),
        "no_dates": lambda: _("no date on this line."),
        "kind_first": lambda: _(
            "“%(part)s” follows no date: write the dates first, like 2月14日 上班.",
            part=params.get("part", ""),
        ),
        "conflict": lambda: _("%(day)s is both a day off and a working day.", day=params.get("day", "")),
        "bad_kind": lambda: _(
            "“%(part)s” is not a kind: write 休 or 班 (holiday or workday).", part=params.get("part", "")
        ),
        "columns": lambda: _("expected the columns date, end, kind, name."),
        "no_year": lambda: _(
            "“%(part)s” has no year: write it like 2027-02-14, or give the year.", part=params.get("part", "")
        ),
        "empty": lambda: _("Enter at least one holiday range or make-up working day."),
    }
    reason = reasons[problem.reason]()
    if problem.line == 0:
        return reason
    if problem.text:
        return _(
            "Line %(line)d (“%(text)s”): %(reason)s", line=problem.line, text=problem.text, reason=reason
        )
    return _("Line %(line)d: %(reason)s", line=problem.line, reason=reason)


def _refuse_problems(problems: list[notice.NoticeProblem], field_name: str) -> None:
    if problems:
        message = " ".join(_problem_message(p) for p in problems)
        raise ValidationFailed(message, {field_name: message})


def _plan(year: int, parsed: notice.ParsedNotice) -> NoticePlan:
    named: dict[date, tuple[bool, str]] = {}
    for item in parsed.ranges:
        for day in item.days():
            if item.kind == notice.DayKind.WORKDAY:
                note = f"{item.name} {MAKEUP_NOTE}" if item.name else MAKEUP_NOTE
                named[day] = (True, note)
            else:
                named.setdefault(day, (False, item.name or "放假"))
    stored = {
        row.day: row
        for row in db.session.scalars(
            select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
        )
    }
    days: list[PlannedDay] = []
    day = date(year, 1, 1)
    while day.year == year:
        is_workday, note = named.get(day, (day.weekday() < 5, ""))
        row = stored.get(day)
        days.append(
            PlannedDay(
                day=day,
                is_workday=is_workday,
                note=note,
                in_notice=day in named,
                stored_workday=row.is_workday if row else None,
                stored_note=row.note if row else "",
            )
        )
        day += timedelta(days=1)
    return NoticePlan(
        year=year,
        days=days,
        ranges=sorted(parsed.ranges, key=lambda r: r.start),
        outside=sorted(set(parsed.outside)),
        year_known=bool(stored),
    )


def plan_notice(year: int | str, text: str | None, actor: User | None) -> NoticePlan:
    """Read a year's State Council notice (see :mod:`hotline.sla.notice`) into a plan of every day, against
    what the calendar holds; nothing is written.

    Managers only.  Raises :class:`Forbidden`, :class:`ValidationFailed` (fields ``year`` and ``text``, both
    at once; every line that cannot be read is named, with what was expected).
    """
    require_manager(actor, _("Only a manager may edit the working-day calendar."))
    errors: dict[str, str] = {}
    number: int | None = None
    try:
        number = _whole_number(year, "year", YEAR_MIN, YEAR_MAX)
    except ValidationFailed as error:
        errors.update(error.fields)
    try:
        body = _text(text, "text", NOTICE_TEXT_MAX, required=True)
        if len(body.splitlines()) > NOTICE_LINES_MAX:
            message = _("At most %(n)d lines.", n=NOTICE_LINES_MAX)
            raise ValidationFailed(message, {"text": message})
        # with a bad year, the lines are still read (in a leap year) so that every error shows at once
        _refuse_problems(notice.parse_notice(body, number or 2000).problems, "text")
    except ValidationFailed as error:
        errors.update(error.fields)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert number is not None
    return _plan(number, notice.parse_notice(body, number))


def plan_rows(rows: list[list[str]], year: int | None, actor: User | None) -> NoticePlan:
    """A year from CSV rows ``date or start, end, kind (休/班, holiday/workday), name``; nothing is written.

    ``year`` None takes the year of the first row's date.  Managers only.  Raises :class:`Forbidden`,
    :class:`ValidationFailed` (field ``file``: every row that cannot be read, by number; field ``year``).
    """
    require_manager(actor, _("Only a manager may edit the working-day calendar."))
    if year is not None:
        year = _whole_number(year, "year", YEAR_MIN, YEAR_MAX)
    for row in rows:
        for cell in row:
            refuse_control_characters(cell, "file")
    found, parsed = notice.parse_rows(rows, year)
    _refuse_problems(parsed.problems, "file")
    assert found is not None
    return _plan(_whole_number(found, "year", YEAR_MIN, YEAR_MAX), parsed)


def _save_plan(plan: NoticePlan, actor: User | None, now: datetime) -> int:
    """Write the days of ``plan`` that differ from the calendar; recompute the open clocks once.  Returns
    the number of days written."""
    actor_id = actor.id if actor else None
    if not plan.year_known:
        rows = [
            {
                "day": d.day,
                "is_workday": d.is_workday,
                "source": DaySource.OVERRIDE if d.in_notice else DaySource.WEEKDAY,
                "note": d.note,
                "updated_at": now,
                "updated_by_id": actor_id,
            }
            for d in plan.days
        ]
        try:
            with db.session.begin_nested():
                db.session.execute(insert(CalendarDay), rows)
        except IntegrityError:  # entered by someone else since the preview
            raise Conflict(
                _("Someone else changed this at the same moment. Reload the page and try again.")
            ) from None
        written = len(rows)
    else:
        stored = {
            row.day: row
            for row in db.session.scalars(
                select(CalendarDay).where(
                    CalendarDay.day.between(date(plan.year, 1, 1), date(plan.year, 12, 31))
                )
            )
        }
        written = 0
        for d in plan.days:
            row = stored.get(d.day)
            if row is None:  # a known year has every day; this only guards a hand-edited table
                row = CalendarDay(day=d.day, is_workday=not d.is_workday, note="")
                db.session.add(row)
            if row.is_workday == d.is_workday and row.note == d.note:
                continue
            row.is_workday = d.is_workday
            row.note = d.note
            row.source = DaySource.OVERRIDE if d.in_notice else DaySource.WEEKDAY
            row.updated_at = now
            row.updated_by_id = actor_id
            written += 1
        db.session.flush()
    if written:
        _calendar_changed(now, "calendar")
        audit.record(
            actor,
            AuditAction.CALENDAR_YEAR_ENTERED,
            str(plan.year),
            {"source": "notice", "days_written": written},
            now,
        )
    return written


def enter_notice(year: int | str, text: str | None, actor: User | None, now: datetime) -> NoticePlan:
    """Enter a whole year from its notice (what :func:`plan_notice` previews), in one go: days not named are
    Monday to Friday; open requests' deadlines follow.  A year already entered is rewritten to the notice.

    Raises what :func:`plan_notice` raises, and :class:`Conflict` when the year was entered meanwhile.
    """
    plan = plan_notice(year, text, actor)
    _save_plan(plan, actor, now)
    return plan


def import_rows(rows: list[list[str]], year: int | None, actor: User | None, now: datetime) -> NoticePlan:
    """Enter a whole year from CSV rows (what :func:`plan_rows` previews), like :func:`enter_notice`.

    Raises what :func:`plan_rows` raises, and :class:`Conflict` when the year was entered meanwhile.
    """
    plan = plan_rows(rows, year, actor)
    _save_plan(plan, actor, now)
    return plan


@dataclass(frozen=True)
class PackageDifference:
    """A day of a year entered by hand that the chinese-calendar package marks otherwise."""

    day: date
    entered_workday: bool
    entered_note: str
    package_workday: bool
    package_note: str


@dataclass(frozen=True)
class HandYear:
    """A year entered by hand (no day from the package) that the installed package now knows."""

    year: int
    differences: list[PackageDifference]


def hand_years_the_package_knows(years: Iterable[int] | None = None) -> list[HandYear]:
    """Every year entered by hand that chinese-calendar knows, with each day where they differ on working
    or not (notes are not compared: the package names holidays in English).  Nothing is written.

    A year loaded from the package and then edited (a local closure) is not a hand year: it is left alone.
    """
    wanted = set(years) if years is not None else set(package_years())
    from_package = {
        int(y)
        for y in db.session.scalars(
            select(extract("year", CalendarDay.day)).where(CalendarDay.source == DaySource.PACKAGE).distinct()
        )
    }
    found: list[HandYear] = []
    for year in sorted((wanted & known_years()) - from_package):
        days = package_days(year)
        if days is None:
            continue
        stored = {
            row.day: row
            for row in db.session.scalars(
                select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
            )
        }
        differences = [
            PackageDifference(day, row.is_workday, row.note, is_workday, note)
            for day, is_workday, note in days
            if (row := stored.get(day)) is not None and row.is_workday != is_workday
        ]
        found.append(HandYear(year, differences))
    return found


def adopt_package_years(years: Iterable[int], now: datetime) -> list[int]:
    """Replace the days of the hand years among ``years`` by the package's (its notes, source ``package``);
    open requests' deadlines follow, recomputed once.  Returns the years replaced.  For the CLI's --apply.
    """
    wanted = set(years)
    adopted: list[int] = []
    for hand in hand_years_the_package_knows(wanted):
        days = package_days(hand.year)
        assert days is not None  # hand_years_the_package_knows checked it
        stored = {
            row.day: row
            for row in db.session.scalars(
                select(CalendarDay).where(
                    CalendarDay.day.between(date(hand.year, 1, 1), date(hand.year, 12, 31))
                )
            )
        }
        for day, is_workday, note in days:
            row = stored.get(day)
            if row is None:
                row = CalendarDay(day=day)
                db.session.add(row)
            row.is_workday = is_workday
            row.note = note
            row.source = DaySource.PACKAGE
            row.updated_at = now
            row.updated_by_id = None
        adopted.append(hand.year)
    db.session.flush()
    if adopted:
        _calendar_changed(now, "calendar")
        audit.record(
            None,
            AuditAction.CALENDAR_SYNCED,
            ", ".join(map(str, adopted)),
            {"years": adopted, "replaced": True},
            now,
        )
    return adopted
