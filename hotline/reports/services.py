"""Frozen reports (issue 11, point 5): a manager freezes a period's figures so that what the district
publishes never changes under it.

A report holds every figure of the period (as ``GET /api/v1/stats/summary`` answers them), the breakdowns by
street, category and channel (each row's label in Chinese and in English, whoever froze it), the definitions
in force (:mod:`hotline.reports.definitions`), the moment they were counted (截至, ``as_of``) and who froze
them.  Later changes to the requests (a reopening, a late rating) never alter it: they show in the live
figures and in the next freeze, which is a new version beside the old one.  The database refuses UPDATE and
DELETE of a report.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from hotline.auth.models import User
from hotline.errors import Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.reports import definitions
from hotline.reports.models import FrozenReport
from hotline.stats import queries as stats
from hotline.stats.rollup import local_day
from hotline.timeutil import local_date

PERIOD_DAYS_MAX = 366
YEARS = (2000, 2100)  # as the dashboard's periods
BREAKDOWNS: tuple[stats.Dimension, ...] = ("street", "category", "channel")


def _day(value: Any, field: str, errors: dict[str, str]) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        errors[field] = _("Give a day as YYYY-MM-DD.")
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[field] = _("Give a day as YYYY-MM-DD.")
        return None
    if not YEARS[0] <= day.year <= YEARS[1]:
        errors[field] = _("Give a day from %(first)d to %(last)d.", first=YEARS[0], last=YEARS[1])
        return None
    return day


def freeze(start: Any, end: Any, actor: User, now: datetime) -> FrozenReport:
    """Freeze the figures of ``start`` to ``end`` (both days included, Asia/Shanghai) as they are ``now``.

    Raises :class:`Forbidden` (not a manager) and :class:`ValidationFailed` on ``from``/``to``: not days,
    the end before the start, a period longer than :data:`PERIOD_DAYS_MAX` days, or starting in the future.
    """
    if not actor.is_staff:
        raise Forbidden(_("Only managers may freeze the district's figures."))
    errors: dict[str, str] = {}
    first, last = _day(start, "from", errors), _day(end, "to", errors)
    if first is not None and last is not None:
        if last < first:
            errors["to"] = _("The last day comes before the first.")
        elif (last - first).days + 1 > PERIOD_DAYS_MAX:
            errors["to"] = _("A report covers at most %(n)d days.", n=PERIOD_DAYS_MAX)
        elif first > local_date(now):
            errors["from"] = _("The period has not begun yet.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    assert first is not None and last is not None
    flt = stats.StatsFilter(start=first, end=last + timedelta(days=1))
    cover = stats.coverage()
    figures: dict[str, Any] = {
        **stats.as_dict(stats.summary(flt, now)),
        "coverage": cover.rate,
        "buildings": cover.buildings,
        "covered_buildings": cover.covered,
    }
    breakdowns = {dimension: _frozen_rows(flt, dimension, now) for dimension in BREAKDOWNS}
    version = (
        db.session.scalar(
            select(func.max(FrozenReport.version)).where(
                FrozenReport.period_start == first, FrozenReport.period_end == last
            )
        )
        or 0
    ) + 1
    report = FrozenReport(
        period_start=first,
        period_end=last,
        version=version,
        as_of=now,
        created_by_id=actor.id,
        figures=figures,
        breakdowns=breakdowns,
        definitions=definitions.as_json(),
    )
    db.session.add(report)
    db.session.flush()
    return report


def _frozen_rows(flt: stats.StatsFilter, dimension: stats.Dimension, now: datetime) -> list[dict[str, Any]]:
    """The rows of one breakdown as a report keeps them: the key, the label in Chinese and in English (not
    in the language of the manager freezing it), and the figures."""
    rows = stats.breakdown(flt, dimension, now)
    labels = stats.labels_in_both(dimension, [row.key for row in rows])
    return [
        {
            "key": row.key,
            "label_zh": labels.get(row.key, (row.label, row.label))[0],
            "label_en": labels.get(row.key, (row.label, row.label))[1],
            "figures": stats.as_dict(row.figures),
        }
        for row in rows
    ]


def report_by_id(report_id: int, actor: User | None = None) -> FrozenReport:
    """The report of this id (managers only when ``actor`` is given); :class:`NotFound` otherwise."""
    if actor is not None and not actor.is_staff:
        raise Forbidden(_("Only managers may read frozen reports."))
    report = db.session.get(FrozenReport, report_id) if 0 < report_id < 2**63 else None
    if report is None:
        raise NotFound(_("No such report."))
    return report


def reports_query() -> Any:
    """Every report, newest first."""
    return select(FrozenReport).order_by(FrozenReport.as_of.desc(), FrozenReport.id.desc())


def latest_year_report(today: date) -> FrozenReport | None:
    """The newest freeze of a whole calendar year (1 January to 31 December) frozen after the year ended
    (its 截至 day, local, past the 31st), the latest such year before ``today``: what the public summary
    states.  A freeze during the year is not the year's published figures.

    One query selects it among every report, however many later ones (monthly or year-to-date freezes)
    there are; the same on PostgreSQL and SQLite (the local day of ``as_of`` in SQL).
    """
    start, end = FrozenReport.period_start, FrozenReport.period_end
    return db.session.scalars(
        select(FrozenReport)
        .where(
            end < today,
            func.extract("month", start) == 1,
            func.extract("day", start) == 1,
            func.extract("month", end) == 12,
            func.extract("day", end) == 31,
            func.extract("year", start) == func.extract("year", end),
            local_day(FrozenReport.as_of) > end,
        )
        .order_by(end.desc(), FrozenReport.version.desc())
        .limit(1)
    ).first()


def earlier_versions(report: FrozenReport) -> list[FrozenReport]:
    """The freezes of the same period before ``report`` (its lower versions) made after the period ended,
    oldest first: the public summary says they were published and replaced, and when each was counted.  A
    freeze made while the period still ran (a preview in June of the whole year) was never the period's
    figures, and is not listed."""
    return list(
        db.session.scalars(
            select(FrozenReport)
            .where(
                FrozenReport.period_start == report.period_start,
                FrozenReport.period_end == report.period_end,
                FrozenReport.version < report.version,
                local_day(FrozenReport.as_of) > FrozenReport.period_end,
            )
            .order_by(FrozenReport.version)
        )
    )
