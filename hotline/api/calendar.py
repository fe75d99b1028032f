"""The working-day calendar through the API (managers and admins, like the calendar page).

``GET /calendar/<year>`` answers a year that has not been entered with ``"known": false`` and no days rather
than 404: the year is a fine thing to ask about (the page shows it with its "not entered" banner), and the
answer tells the client what to do next; a year outside 2000-2100 is refused with 400.  ``PUT
/calendar/<yyyy-mm-dd>`` marks one day (:func:`hotline.sla.services.set_day`); a path that is not such a
date is a 400 with the message under ``fields.day``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import gettext as _

from hotline.api import schemas
from hotline.api.auth import api_user, token_required
from hotline.api.views import BEARER, bp
from hotline.db import utcnow
from hotline.errors import ValidationFailed
from hotline.sla import services as sla
from hotline.sla.models import CalendarDay
from hotline.web import perform

DAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # date.fromisoformat also takes 20261001, 2026-W40-4


def _day(text: str) -> date:
    try:
        if DAY_RE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    message = _("Give a date as YYYY-MM-DD, for example 2026-03-31.")
    raise ValidationFailed(message, {"day": message})


@bp.route("/calendar/<int:year>", methods=["GET"])
@token_required
@bp.response(200, schemas.CalendarYear)
@bp.doc(security=BEARER)
def calendar_year(year: int) -> dict[str, Any]:
    """Every day of a year as the calendar has it (managers); `known: false` and no days when the year has
    not been entered yet; 400 outside 2000-2100."""
    days = sla.calendar_year(year, api_user())
    return {"year": year, "known": bool(days), "days": days}


@bp.route("/calendar/<day>", methods=["PUT"])
@token_required
@bp.arguments(schemas.CalendarDayUpdate)
@bp.response(200, schemas.CalendarDaySchema)
@bp.doc(security=BEARER)
def set_calendar_day(body: dict[str, Any], day: str) -> CalendarDay:
    """Mark one day (YYYY-MM-DD) a working or a rest day (managers); open requests' deadlines follow.  400
    when its year has not been entered yet."""
    user = api_user()
    sla.require_manager(user, _("Only a manager may edit the working-day calendar."))  # before the date
    when = _day(day)
    is_workday = body["kind"] == schemas.DayKind.WORKDAY
    return perform(lambda: sla.set_day(when, is_workday, body.get("note") or "", user, utcnow()))


@bp.route("/calendar/<int:year>/notice", methods=["POST"])
@token_required
@bp.arguments(schemas.CalendarNoticeBody)
@bp.response(200, schemas.CalendarNoticePlan)
@bp.doc(security=BEARER)
def calendar_notice(body: dict[str, Any], year: int) -> dict[str, Any]:
    """A whole year from the State Council's notice (managers): the plan of its days off and make-up working
    days, and the days that change against the calendar; `apply: true` saves it (open requests' deadlines
    follow).  400 with every unreadable line under `fields.text`."""
    user = api_user()
    text = body.get("text") or ""
    if body.get("apply"):
        plan = perform(lambda: sla.enter_notice(year, text, user, utcnow()))
    else:
        plan = sla.plan_notice(year, text, user)
    return {
        "year": plan.year,
        "saved": bool(body.get("apply")),
        "year_known": plan.year_known,
        "holidays": plan.holidays,
        "makeup_days": plan.makeup_days,
        "ranges": plan.ranges,
        "changed": plan.changed,
        "outside": plan.outside,
    }
