"""Pages of working time and clocks: the overdue board, the calendar, the categories' clocks and extensions.

Managers only, except the extension request, which the assignee makes from the request's page.  A view parses
its form, calls one service, puts domain errors next to the fields, commits once and redirects.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from hotline.auth.access import roles_required
from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.extensions import db
from hotline.sla import clocks, forms, services
from hotline.sla.calendar import current_calendar, working_hours
from hotline.sla.models import DaySource, Extension
from hotline.sla.worktime import format_hours
from hotline.tickets import forms as ticket_forms
from hotline.tickets.models import Category, Ticket, TicketState
from hotline.tickets.workflow import ACTIONS
from hotline.timeutil import local_date
from hotline.web import perform, refused

bp = Blueprint("sla", __name__)


# The overdue board's "approaching" tab looks at this many requests nearest their deadline: yellow is decided
# in working time per request, which SQL cannot filter, so the scan is bounded instead.
APPROACHING_SCAN = 500
FIRST_YEAR, LAST_YEAR = 2000, 2100


# --------------------------------------------------------------------------- the overdue board


def _running_due() -> ColumnElement[datetime]:
    """The deadline of the clock that runs in the request's state: acknowledge when assigned, else resolve."""
    return case(
        (Ticket.state == TicketState.ASSIGNED, Ticket.acknowledge_due_at), else_=Ticket.resolve_due_at
    )


def _running_clock_late(now: datetime, *, late: bool) -> ColumnElement[bool]:
    """Requests whose running clock is past its deadline (``late``), or not yet (one with no deadline is
    neither: a missing calendar year is shown by the managers' banner instead)."""

    def compare(column: Any) -> ColumnElement[bool]:
        return column < now if late else column >= now

    return or_(
        and_(Ticket.state == TicketState.ASSIGNED, compare(Ticket.acknowledge_due_at)),
        and_(Ticket.state == TicketState.IN_PROGRESS, compare(Ticket.resolve_due_at)),
    )


def _board_query(now: datetime, *, late: bool) -> Select[Ticket]:
    return (
        select(Ticket)
        .where(_running_clock_late(now, late=late))
        .order_by(_running_due().asc(), Ticket.id)
        .options(
            selectinload(Ticket.category),
            selectinload(Ticket.building),
            selectinload(Ticket.assignee),
            selectinload(Ticket.enterprise),
        )
    )


class ListPagination(Pagination):
    """A page of a list already in memory (bounded by the caller), for the pagination macro."""

    def _query_items(self) -> list[Any]:
        rows: Sequence[Any] = self._query_args["rows"]
        start = (self.page - 1) * self.per_page
        return list(rows[start : start + self.per_page])

    def _query_count(self) -> int:
        return len(self._query_args["rows"])


@dataclass(frozen=True)
class BoardRow:
    ticket: Ticket
    light: clocks.ClockLight | None


@bp.route("/manage/overdue")
@roles_required(Role.MANAGER)
def overdue() -> str:
    now = utcnow()
    calendar = current_calendar()
    per_page = current_app.config["PER_PAGE"]
    show = "yellow" if request.args.get("show") == "yellow" else "red"
    if show == "red":
        page = db.paginate(_board_query(now, late=True), per_page=per_page, max_per_page=100)
        page.items = [BoardRow(t, clocks.light(t, now, calendar)) for t in page.items]
    else:
        nearest = db.session.scalars(_board_query(now, late=False).limit(APPROACHING_SCAN)).all()
        lights = [BoardRow(t, clocks.light(t, now, calendar)) for t in nearest]
        rows = [row for row in lights if row.light is not None and row.light.colour == "yellow"]
        page = ListPagination(per_page=per_page, max_per_page=100, rows=rows)
    return render_template("sla/overdue.html", page=page, show=show, scan_limit=APPROACHING_SCAN)


# --------------------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class DayCell:
    day: date
    in_month: bool
    is_workday: bool | None  # None: the year is not in the calendar
    override: bool
    note: str
    changed: bool = False  # a preview: working or not differs from what the calendar holds

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5

    @property
    def css(self) -> str:
        if not self.in_month:
            return "cal-outside"
        if self.is_workday is None:
            return "cal-unknown"
        classes = ["cal-work" if self.is_workday else "cal-rest"]
        if self.is_workday and self.weekend:
            classes.append("cal-makeup")  # 调休: a weekend day worked to make up for a holiday
        if not self.is_workday and not self.weekend:
            classes.append("cal-holiday")
        if self.override:
            classes.append("cal-override")
        if self.changed:
            classes.append("cal-changed")
        return " ".join(classes)

    @property
    def kind(self) -> str:
        if not self.in_month or self.is_workday is None:
            return ""
        if self.is_workday:
            return "makeup" if self.weekend else "work"
        return "rest" if self.weekend else "holiday"


@dataclass(frozen=True)
class Month:
    number: int
    weeks: list[list[DayCell]]


def _year_arg(default: int) -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return default
    return year if FIRST_YEAR <= year <= LAST_YEAR else default


def _months(year: int) -> tuple[list[Month], bool]:
    """The twelve month grids of ``year`` and whether the calendar has the year at all."""
    rows = services.calendar_year(year, current_user)
    known = {row.day: row for row in rows}

    def cell(day: date, in_month: bool) -> DayCell:
        row = known.get(day)
        return DayCell(
            day=day,
            in_month=in_month,
            is_workday=row.is_workday if row else None,
            override=bool(row and row.source == DaySource.OVERRIDE),
            note=row.note if row else "",
        )

    return _month_grids(year, cell), bool(known)


def _month_grids(year: int, cell: Callable[[date, bool], DayCell]) -> list[Month]:
    weeks_of = month_calendar.Calendar(firstweekday=0).monthdatescalendar
    return [
        Month(number, [[cell(day, day.month == number) for day in week] for week in weeks_of(year, number)])
        for number in range(1, 13)
    ]


def _preview_months(plan: services.NoticePlan) -> list[Month]:
    """The month grids of a year as the notice has it, each day that changes against the calendar marked."""
    planned = {d.day: d for d in plan.days}

    def cell(day: date, in_month: bool) -> DayCell:
        entry = planned.get(day)
        if entry is None:  # a day of the month before or after, outside the year
            return DayCell(day=day, in_month=False, is_workday=None, override=False, note="")
        return DayCell(
            day=day,
            in_month=in_month,
            is_workday=entry.is_workday,
            override=False,
            note=entry.note,
            changed=entry.changed,
        )

    return _month_grids(plan.year, cell)


def _hours_text() -> str:
    return format_hours(working_hours())


@dataclass
class CalendarForms:
    day: forms.DayForm = field(default_factory=lambda: forms.unique_ids(forms.DayForm(formdata=None), "day"))
    year: forms.YearForm = field(
        default_factory=lambda: forms.unique_ids(forms.YearForm(formdata=None), "year")
    )
    hours: forms.HoursForm = field(
        default_factory=lambda: forms.unique_ids(forms.HoursForm(formdata=None), "hours")
    )


def _render_calendar(year: int, bound: CalendarForms | None = None, status: int = 200) -> tuple[str, int]:
    calendar_forms = bound or CalendarForms()
    if not calendar_forms.hours.hours.data and not calendar_forms.hours.errors:
        calendar_forms.hours.hours.data = _hours_text()
    months, known = _months(year)
    html = render_template(
        "sla/calendar.html",
        year=year,
        months=months,
        year_known=known,
        weekday_names=_weekday_names(),
        forms=calendar_forms,
        hours_text=_hours_text(),
    )
    return html, status


def _weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


@bp.route("/manage/calendar")
@roles_required(Role.MANAGER)
def calendar() -> tuple[str, int]:
    return _render_calendar(_year_arg(local_date(utcnow()).year))


def _calendar_post(
    form: FlaskForm,
    slot: str,
    run: Callable[[datetime], Any],
    done: str | Callable[[Any], str],
    year_of: Callable[[], int],
    field_map: dict[str, str] | None = None,
) -> tuple[str, int] | Response:
    """Validate one of the calendar page's forms, call the service, commit and go back to the year shown."""
    back_year = _year_arg(local_date(utcnow()).year)
    forms.unique_ids(form, slot)
    if form.validate():
        result = perform(
            lambda: run(utcnow()),
            form=form,
            field_map=field_map,
            back=url_for(".calendar", year=back_year),
        )
        if not refused(result):
            flash(done(result) if callable(done) else done, "success")
            return redirect(url_for(".calendar", year=year_of()))
    bound = CalendarForms()
    setattr(bound, slot, form)
    return _render_calendar(back_year, bound, 400)


@bp.route("/manage/calendar/day", methods=["POST"])
@roles_required(Role.MANAGER)
def set_day() -> tuple[str, int] | Response:
    form = forms.DayForm()

    def run(now: datetime) -> Any:
        assert form.day.data is not None  # the form requires it
        work = form.kind.data == "work"
        return services.set_day(form.day.data, work, form.note.data or "", current_user, now)

    return _calendar_post(
        form,
        "day",
        run,
        _("The day has been saved; open requests' deadlines follow the new calendar."),
        lambda: form.day.data.year if form.day.data else local_date(utcnow()).year,
        {"is_workday": "kind"},
    )


@bp.route("/manage/calendar/year", methods=["POST"])
@roles_required(Role.MANAGER)
def enter_year() -> tuple[str, int] | Response:
    form = forms.YearForm()

    return _calendar_post(
        form,
        "year",
        lambda now: services.enter_year(form.year.data or "", current_user, now),
        lambda source: (
            _("The year has been loaded from the official holiday schedule.")
            if source == DaySource.PACKAGE
            else _(
                "The year has been entered as Monday to Friday: "
                "now mark its holidays and make-up working days."
            )
        ),
        lambda: int(form.year.data or 0) or local_date(utcnow()).year,
    )


@bp.route("/manage/calendar/hours", methods=["POST"])
@roles_required(Role.MANAGER)
def set_hours() -> tuple[str, int] | Response:
    form = forms.HoursForm()
    return _calendar_post(
        form,
        "hours",
        lambda now: services.set_working_hours(form.hours.data or "", current_user, now),
        _("The working hours have been saved; open requests' deadlines follow them."),
        lambda: _year_arg(local_date(utcnow()).year),
    )


@bp.route("/manage/calendar/sync", methods=["POST"])
@roles_required(Role.MANAGER)
def sync_calendar() -> Response:
    year = _year_arg(local_date(utcnow()).year)
    added = perform(lambda: services.sync_calendar_from_package(utcnow()))
    if added:
        flash(
            _("Years loaded from the chinese-calendar package: %(years)s.", years=", ".join(map(str, added))),
            "success",
        )
    else:
        flash(_("The chinese-calendar package knows no year that is not already in the calendar."), "info")
    return redirect(url_for(".calendar", year=year))


@bp.route("/manage/calendar/notice", methods=["GET", "POST"])
@roles_required(Role.MANAGER)
def notice() -> tuple[str, int] | Response:
    """A whole year from the State Council's notice: preview it as month grids, then save it."""
    form = forms.NoticeForm()
    if request.method == "GET":
        form.year.data = str(_year_arg(local_date(utcnow()).year + 1))
        return _render_notice(form, None)
    if not form.validate():
        return _render_notice(form, None, 400)
    year, text = form.year.data or "", form.text.data or ""
    if request.form.get("action") == "save":
        saved = perform(
            lambda: services.enter_notice(year, text, current_user, utcnow()),
            form=form,
            back=url_for(".notice"),
        )
        if not isinstance(saved, services.NoticePlan):  # refused: the errors are next to the fields
            return _render_notice(form, None, 400)
        flash(
            _(
                "%(year)d has been saved from the notice: %(holidays)d days off, %(makeup)d make-up "
                "working days; open requests' deadlines follow the new calendar.",
                year=saved.year,
                holidays=saved.holidays,
                makeup=saved.makeup_days,
            ),
            "success",
        )
        return redirect(url_for(".calendar", year=saved.year))
    plan = perform(lambda: services.plan_notice(year, text, current_user), form=form)
    if not isinstance(plan, services.NoticePlan):
        return _render_notice(form, None, 400)
    return _render_notice(form, plan)


def _render_notice(
    form: forms.NoticeForm, plan: services.NoticePlan | None, status: int = 200
) -> tuple[str, int]:
    html = render_template(
        "sla/notice.html",
        form=form,
        plan=plan,
        months=_preview_months(plan) if plan else [],
        weekday_names=_weekday_names(),
    )
    return html, status


# --------------------------------------------------------------------------- categories and their clocks


@bp.route("/manage/categories")
@roles_required(Role.MANAGER)
def categories() -> str:
    query = select(Category).order_by(Category.sort_order, Category.id)
    page = db.paginate(query, per_page=50, max_per_page=100)
    return render_template("sla/categories.html", page=page)


@bp.route("/manage/categories/<int:category_id>", methods=["GET", "POST"])
@roles_required(Role.MANAGER)
def edit_category(category_id: int) -> tuple[str, int] | Response:
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    form = forms.CategoryClocksForm(obj=category if request.method == "GET" else None)
    if form.validate_on_submit():
        saved = perform(
            lambda: services.set_category_clocks(
                category.id,
                form.acknowledge_minutes.data or "",
                form.acknowledge_minutes_urgent.data or "",
                form.resolve_days.data or "",
                form.resolve_days_urgent.data or "",
                current_user,
                utcnow(),
            ),
            form=form,
        )
        if not refused(saved):
            flash(_("The clocks of %(name)s have been saved.", name=category.name), "success")
            return redirect(url_for(".categories"))
    status = 400 if request.method == "POST" else 200
    from hotline.district.forms import CategoryNamesForm  # the names, order and retirement: district's

    names = CategoryNamesForm(formdata=None, obj=category)
    return render_template("sla/category_edit.html", category=category, form=form, names=names), status


# --------------------------------------------------------------------------- extensions (延期)
#
# Asking for an extension and deciding on it from the request's page are actions of the lifecycle table
# (``extend``, ``decide_extension``); managers also decide from the list of pending extensions here.


def _decision_form(extension: Extension, formdata: Any = None) -> FlaskForm:
    """The decision form of the lifecycle table's ``decide_extension`` row, ids unique per extension."""
    form_class = ticket_forms.action_form_class(ACTIONS["decide_extension"])
    return forms.unique_ids(form_class(formdata=formdata), f"decide-{extension.id}")


def pending_extension(ticket: Ticket) -> Extension | None:
    """The extension waiting on the request's running clock (for the decision card of its page)."""
    return services.pending_extension_on_clock(ticket)


@bp.route("/manage/extensions")
@roles_required(Role.MANAGER)
def extensions() -> str:
    return _render_extensions({})[0]


def _render_extensions(bound: dict[int, FlaskForm], status: int = 200) -> tuple[str, int]:
    page = db.paginate(
        services.pending_extensions().options(selectinload(Extension.requested_by)),
        per_page=current_app.config["PER_PAGE"],
        max_per_page=100,
    )
    ids = {e.ticket_id for e in page.items}
    tickets = {
        t.id: t
        for t in db.session.scalars(
            select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.assignee))
        )
    }
    decision_forms = {e.id: bound.get(e.id) or _decision_form(e) for e in page.items}
    html = render_template("sla/extensions.html", page=page, tickets=tickets, decision_forms=decision_forms)
    return html, status


@bp.route("/manage/extensions/<int:extension_id>/decision", methods=["POST"])
@roles_required(Role.MANAGER)
def decide_extension(extension_id: int) -> tuple[str, int] | Response:
    extension = db.session.get(Extension, extension_id)
    if extension is None:
        abort(404)
    ticket = db.session.get(Ticket, extension.ticket_id)
    assert ticket is not None
    number = ticket.number
    form = _decision_form(extension, request.form)
    if not form.validate():
        return _render_extensions({extension.id: form}, 400)
    values = ticket_forms.form_values(ACTIONS["decide_extension"], form)
    approve = values["approve"]
    decided = perform(
        lambda: services.decide_extension(extension.id, current_user, approve, values["note"], utcnow()),
        form=form,
        back=url_for(".extensions"),
    )
    if refused(decided):
        return _render_extensions({extension_id: form}, 400)
    if approve:
        flash(_("The extension of %(number)s has been approved.", number=number), "success")
    else:
        flash(_("The extension of %(number)s has been refused.", number=number), "success")
    return redirect(url_for(".extensions"))
