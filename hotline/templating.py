"""What every page's frame uses: the navigation of the user's role, role names, local time.

Features register their own template globals from their ``init_app`` (clock lights in ``hotline.sla``, the
bell's count in ``hotline.notifications``, request labels in ``hotline.tickets`` …); this module holds only
the application's shell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from hotline.auth.labels import role_label
from hotline.auth.models import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any


NAV = {
    Role.ENTERPRISE: [
        NavItem("tickets.portal", _l("My requests")),
        NavItem("tickets.new_ticket", _l("File a request")),
        NavItem("meetings.index", _l("Meetings")),
        NavItem("enterprises.own_profile", _l("My enterprise")),
    ],
    Role.LIAISON: [
        NavItem("tickets.workbench", _l("Workbench")),
        NavItem("tickets.record", _l("Record a request")),
        NavItem("enterprises.mine", _l("My enterprises")),
        NavItem("enterprises.index", _l("Enterprises")),
        NavItem("meetings.index", _l("Meetings")),
        NavItem("meetings.new_visit", _l("Log a visit")),
        NavItem("replies.index", _l("Reply templates")),
    ],
    Role.DEPARTMENT: [
        NavItem("tickets.department_queue", _l("Department queue")),
        NavItem("meetings.index", _l("Meetings")),
        NavItem("replies.index", _l("Reply templates")),
    ],
    Role.MANAGER: [
        NavItem("stats.dashboard", _l("Dashboard")),
        NavItem("tickets.pool", _l("Dispatch pool")),
        NavItem("tickets.all_tickets", _l("All requests")),
        NavItem("enterprises.index", _l("Enterprises")),
        NavItem("meetings.index", _l("Meetings")),
        NavItem("tickets.liaisons", _l("Liaisons")),
        NavItem("district.streets", _l("Buildings and coverage")),
        NavItem("imports.index", _l("Import")),
        NavItem("sla.overdue", _l("Overdue board")),
        NavItem("sla.extensions", _l("Extensions")),
        NavItem("followup.queue", _l("Follow-up calls")),
        NavItem("replies.index", _l("Reply templates")),
        NavItem("sla.calendar", _l("Calendar")),
        NavItem("sla.categories", _l("Categories and clocks")),
        NavItem("reports.index", _l("Reports")),
        NavItem("audit.log", _l("Audit log")),
    ],
}
NAV[Role.ADMIN] = [*NAV[Role.MANAGER], NavItem("admin.users", _l("Users"))]


def nav_items() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    if current_user.role == Role.ENTERPRISE and current_user.enterprise_id is None:
        # a claimant (its claim not confirmed yet, or rejected) files nothing: its portal says why
        return NAV[Role.ENTERPRISE][:1]
    items = NAV.get(current_user.role, [])
    if not current_app.config["FOLLOWUP_AFTER_WORKING_DAYS"]:  # the follow-up calls are off: no queue
        items = [item for item in items if item.endpoint != "followup.queue"]
    return items


def localtime(moment: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC timestamp shown in Asia/Shanghai."""
    if moment is None:
        return "—"
    return format_datetime(moment, fmt)


def isotime(value: Any, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A time an event's payload holds (ISO 8601 text) shown in Asia/Shanghai; unreadable text as it is."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)
    return format_datetime(moment, fmt)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(nav_items=nav_items, role_label=role_label)
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["isotime"] = isotime
