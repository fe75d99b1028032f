"""Working time and clocks (DESIGN §5): calendar, deadlines, the sweep that escalates, extensions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, g

from hotline.db import utcnow

if TYPE_CHECKING:
    from hotline.sla.clocks import ClockLight
    from hotline.sla.worktime import WorkCalendar
    from hotline.tickets.models import Ticket


def work_calendar() -> WorkCalendar:
    """The working-day calendar, built once per request for all the clock lights of a page."""
    from hotline.sla.calendar import current_calendar

    if "work_calendar" not in g:
        g.work_calendar = current_calendar()
    return g.work_calendar


def clock_light_for(ticket: Ticket) -> ClockLight | None:
    """The light of the request's running clock now (green / yellow / red), or None when no clock runs."""
    from hotline.sla.clocks import light

    return light(ticket, utcnow(), work_calendar())


def missing_calendar_years(now: datetime | None = None) -> list[int]:
    """Years a clock needs that the calendar lacks, for the managers' banner (once per request)."""
    from hotline.sla.services import missing_years

    if "missing_calendar_years" not in g:
        g.missing_calendar_years = missing_years(now or utcnow())
    return list(g.missing_calendar_years)


def init_app(app: Flask) -> None:
    """The clocks follow the lifecycle's events; the pages; the clock lights and the calendar banner."""
    from hotline.sla import lifecycle, services
    from hotline.sla.views import bp, pending_extension
    from hotline.tickets import workflow

    lifecycle.init_app(app)
    workflow.bind("extend", services.request_extension, offered_if=services.may_ask_for_extension)
    workflow.bind(
        "decide_extension", services.decide_pending_extension, offered_if=services.has_pending_extension
    )
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        clock_light_for=clock_light_for,
        missing_calendar_years=missing_calendar_years,
        pending_extension=pending_extension,
    )
