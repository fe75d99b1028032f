"""Periods of the figures: a month ``2026-03``, a quarter ``2026Q1``, a year ``2026``, or custom dates.

A period is a pair of local (Asia/Shanghai) dates ``[start, end)`` — the shape :class:`StatsFilter` takes.
Custom periods are given the way people say them, with the last day *included* (``to=2026-03-31`` means up
to the end of 31 March); ``end`` is the day after it.  Bad input raises :class:`PeriodError`, a ValueError
that names the field (``period``, ``from`` or ``to``) and says what is wrong in the page's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.enterprises.models import Building, Street
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.stats.queries import StatsFilter
from hotline.tickets.models import Category, Channel

# The figures start in 2000 at the earliest and a custom period spans at most this many days, so a typo such
# as 20260 cannot ask for centuries.
FIRST_YEAR = 2000
LAST_YEAR = 2100
MAX_DAYS = 366 * 10

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PeriodError(ValidationFailed, ValueError):
    """A period that cannot be read; ``field`` is the parameter at fault (period/value, from, to).

    A :class:`ValidationFailed` too, with ``fields = {field: message}``, so views and the API map it to the
    field's message / a 400 like any other refused input.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, {field: message})
        self.field = field


def _check_year(year: int, field: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(
            field, _("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        )


def _month_after(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1)


def month(year: int, month_number: int) -> tuple[date, date]:
    return date(year, month_number, 1), _month_after(year, month_number)


def quarter(year: int, number: int) -> tuple[date, date]:
    first = 3 * (number - 1) + 1
    return date(year, first, 1), _month_after(year, first + 2)


def year(year_number: int) -> tuple[date, date]:
    return date(year_number, 1, 1), date(year_number + 1, 1, 1)


def parse_period(text: str, field: str = "period") -> tuple[date, date]:
    """``2026-03`` (month), ``2026Q1`` or ``2026-Q1`` (quarter), ``2026`` (year) → ``(start, end)``."""
    value = (text or "").strip()
    if match := _MONTH.match(value):
        y, m = int(match.group(1)), int(match.group(2))
        _check_year(y, field)
        if not 1 <= m <= 12:
            raise PeriodError(field, _("A month is from 01 to 12."))
        return month(y, m)
    if match := _QUARTER.match(value):
        y = int(match.group(1))
        _check_year(y, field)
        return quarter(y, int(match.group(2)))
    if match := _YEAR.match(value):
        y = int(match.group(1))
        _check_year(y, field)
        return year(y)
    raise PeriodError(field, _("Give a month like 2026-03, a quarter like 2026Q1 or a year like 2026."))


def readable(text: str) -> bool:
    """Whether :func:`parse_period` reads ``text`` (a month, a quarter or a year, not custom dates)."""
    try:
        parse_period(text)
    except PeriodError:
        return False
    return True


def parse_date(text: str, field: str) -> date:
    """A date written YYYY-MM-DD; raises :class:`PeriodError` naming ``field``."""
    value = (text or "").strip()
    if not _DATE.match(value):
        raise PeriodError(field, _("Give a date as YYYY-MM-DD, for example 2026-03-31."))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise PeriodError(field, _("There is no such day.")) from None
    _check_year(day.year, field)
    return day


def custom(from_text: str | None, to_text: str | None, today: date) -> tuple[date, date]:
    """Custom dates, ``to`` included.  A missing ``from`` starts on 1 January of ``to``'s year (of this
    year when both are missing); a missing ``to`` ends on 31 December of ``from``'s year."""
    start = parse_date(from_text, "from") if from_text else None
    last = parse_date(to_text, "to") if to_text else None
    if start is None and last is None:
        return year(today.year)
    if start is None:
        assert last is not None
        start = date(last.year, 1, 1)
    if last is None:
        last = date(start.year, 12, 31)
    if last < start:
        raise PeriodError("to", _("The last day comes before the first day."))
    if (last - start).days + 1 > MAX_DAYS:
        raise PeriodError("to", _("A period spans at most ten years."))
    return start, last + timedelta(days=1)


# --------------------------------------------------------------------------- the dashboard's picker

KINDS = ("month", "quarter", "year", "custom")


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first local day
    end: date  # first local day after the period


def default_value(kind: str, today: date) -> str:
    """Picker's value for the period holding ``today``: ``2026-03``, ``2026Q1``, ``2026``; "" if custom."""
    if kind == "month":
        return f"{today:%Y-%m}"
    if kind == "quarter":
        return f"{today.year}Q{(today.month - 1) // 3 + 1}"
    if kind == "year":
        return str(today.year)
    return ""


def parse(kind: str, value: str, from_text: str, to_text: str, today: date) -> Period:
    """The picker's period: ``value`` for month/quarter/year (empty: the one containing ``today``), the
    ``from``/``to`` dates (``to`` included) for custom.  Raises :class:`PeriodError` naming ``value``,
    ``from``, ``to`` or ``period``."""
    if kind not in KINDS:
        raise PeriodError("period", _("Choose month, quarter, year or custom dates."))
    if kind == "custom":
        return Period(kind, *custom(from_text, to_text, today))
    text = (value or "").strip() or default_value(kind, today)
    patterns = {"month": _MONTH, "quarter": _QUARTER, "year": _YEAR}
    if not patterns[kind].match(text):
        messages = {
            "month": lambda: _("Give a month like 2026-03."),
            "quarter": lambda: _("Give a quarter like 2026Q1."),
            "year": lambda: _("Give a year like 2026."),
        }
        raise PeriodError("value", messages[kind]())
    return Period(kind, *parse_period(text, "value"))


def last_day(end: date) -> date:
    """The last day included in a period ending (exclusively) at ``end``: what a form's ``to`` shows."""
    return end - timedelta(days=1)


def describe(start: date, end: date) -> str:
    """A short name for the period: ``2026``, ``2026Q1``, ``2026-03`` or ``2026-03-10 ~ 2026-04-16``."""
    if start.month == 1 and start.day == 1 and end == date(start.year + 1, 1, 1):
        return f"{start.year}"
    if start.day == 1 and end == _month_after(start.year, start.month):
        return f"{start:%Y-%m}"
    if start.day == 1 and start.month % 3 == 1 and end == quarter(start.year, start.month // 3 + 1)[1]:
        return f"{start.year}Q{start.month // 3 + 1}"
    return f"{start.isoformat()} ~ {last_day(end).isoformat()}"


# --------------------------------------------------------------------------- the API's query string


def filter_from_query(args: Mapping[str, str], today: date) -> StatsFilter:
    """The filter of ``GET /api/v1/stats/summary``: ``from``/``to`` dates (``to`` included; the current year
    by default), ``street`` and ``category`` by code, ``building`` by id (buildings have no code), ``liaison``
    by username, ``channel`` by value.  Every bad value is reported at once: :class:`ValidationFailed` whose
    ``fields`` name each parameter at fault.
    """
    errors: dict[str, str] = {}
    start, end = year(today.year)
    try:
        start, end = custom(args.get("from") or None, args.get("to") or None, today)
    except PeriodError as error:
        errors.update(error.fields)
    ids: dict[str, int | None] = {}
    unknown = {
        "street": lambda: _("No street has this code."),
        "building": lambda: _("No building has this id."),
        "category": lambda: _("No category has this code."),
        "liaison": lambda: _("No liaison has this username."),
    }
    lookups: dict[str, Any] = {
        "street": select(Street.id).where(Street.code == args.get("street", "").strip()),
        "category": select(Category.id).where(Category.code == args.get("category", "").strip()),
        "liaison": select(User.id).where(
            User.username == args.get("liaison", "").strip(), User.role == Role.LIAISON
        ),
    }
    building_text = args.get("building", "").strip()
    if building_text.isdigit():
        lookups["building"] = select(Building.id).where(Building.id == int(building_text))
    for name in ("street", "building", "category", "liaison"):
        if not args.get(name, "").strip():
            ids[name] = None
            continue
        found = db.session.scalar(lookups[name]) if name in lookups else None
        if found is None:
            errors[name] = unknown[name]()
        ids[name] = found
    channel = args.get("channel", "").strip() or None
    if channel is not None and channel not in {c.value for c in Channel}:
        errors["channel"] = _("Choose one of: %(values)s.", values=", ".join(c.value for c in Channel))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return StatsFilter(
        start=start,
        end=end,
        street_id=ids["street"],
        building_id=ids["building"],
        category_id=ids["category"],
        channel=channel,
        liaison_id=ids["liaison"],
    )
