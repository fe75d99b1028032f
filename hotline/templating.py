"""What every template can use: the navigation of the user's role, labels, local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, g
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.notifications.services import unread_count
from hotline.sla.calendar import current_calendar
from hotline.sla.clocks import ClockLight, light
from hotline.sla.worktime import WorkCalendar
from hotline.tickets.models import Ticket
from hotline.tickets.services import state_label


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any


NAV = {
    Role.ENTERPRISE: [
        NavItem("tickets.portal", _l("My requests")),
        NavItem("tickets.new_ticket", _l("File a request")),
    ],
    Role.LIAISON: [
        NavItem("tickets.workbench", _l("Workbench")),
        NavItem("tickets.record", _l("Record a request")),
        NavItem("enterprises.index", _l("Enterprises")),
    ],
    Role.DEPARTMENT: [NavItem("tickets.department_queue", _l("Department queue"))],
    Role.MANAGER: [
        NavItem("stats.dashboard", _l("Dashboard")),
        NavItem("tickets.pool", _l("Dispatch pool")),
        NavItem("tickets.all_tickets", _l("All requests")),
        NavItem("enterprises.index", _l("Enterprises")),
        NavItem("sla.overdue", _l("Overdue board")),
        NavItem("sla.extensions", _l("Extensions")),
        NavItem("sla.calendar", _l("Calendar")),
        NavItem("sla.categories", _l("Categories and clocks")),
    ],
}
NAV[Role.ADMIN] = [*NAV[Role.MANAGER], NavItem("admin.users", _l("Users"))]

ROLE_LABELS = {
    Role.ENTERPRISE: _l("Enterprise"),
    Role.LIAISON: _l("Liaison"),
    Role.DEPARTMENT: _l("Department"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Administrator"),
}


def nav_items() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    return NAV.get(current_user.role, [])


def role_label(role: Role) -> str:
    return str(ROLE_LABELS[role])


def unread_notifications() -> int:
    """The bell's count: one indexed COUNT, only for a logged-in user (base.html calls it once a page)."""
    if not current_user.is_authenticated:
        return 0
    return unread_count(current_user.id)


def current_locale() -> str:
    return str(get_locale() or "zh")


def localtime(moment: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC timestamp shown in Asia/Shanghai."""
    if moment is None:
        return "—"
    return format_datetime(moment, fmt)


def work_calendar() -> WorkCalendar:
    """The working-day calendar, built once per request for all the clock lights of a page."""
    if "work_calendar" not in g:
        g.work_calendar = current_calendar()
    return g.work_calendar


def clock_light_for(ticket: Ticket) -> ClockLight | None:
    """The light of the request's running clock now (green / yellow / red), or None when no clock runs."""
    return light(ticket, utcnow(), work_calendar())


def missing_calendar_years() -> list[int]:
    """Years a clock needs that the calendar lacks, for the managers' banner (once per request)."""
    if "missing_calendar_years" not in g:
        from hotline.sla.services import missing_years

        g.missing_calendar_years = missing_years(utcnow())
    return g.missing_calendar_years


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        nav_items=nav_items,
        role_label=role_label,
        state_label=state_label,
        current_locale=current_locale,
        clock_light_for=clock_light_for,
        missing_calendar_years=missing_calendar_years,
        unread_notifications=unread_notifications,
    )
    app.jinja_env.filters["localtime"] = localtime
