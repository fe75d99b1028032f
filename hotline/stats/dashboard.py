"""The manager dashboard's whole query set: all that ``/manage/dashboard`` shows for one filter, in one call.

:func:`build` runs every query the page runs once its filter is read — the summary behind the cards, building
coverage and 走访覆盖 (field coverage), the liaison ranking, the breakdowns the charts draw, the field work by
month and channel — and shapes them for the page.  The view adds
the links and renders; ``bench/stats.py`` times the page itself over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline.meetings.queries import FieldCoverage, field_coverage
from hotline.stats import periods
from hotline.stats.queries import (
    NONE_KEY,
    BreakdownRow,
    CoverageFigures,
    Figures,
    StatsFilter,
    add_figures,
    breakdown,
    breakdown_by_channel,
    coverage,
    summary,
)
from hotline.stats.rates import shown_percent
from hotline.tickets.labels import CHANNEL_LABELS
from hotline.tickets.models import Channel

# The liaison ranking's sortable columns; a rate nobody has (None) always sorts last.
RANK_LABELS = {
    "total": _l("Requests"),
    "resolved": _l("Resolved"),
    "closure_rate": _l("Closure rate"),
    "satisfaction_rate": _l("Satisfaction rate"),
    "on_time_rate": _l("On-time rate"),
    "reopen_rate": _l("Reopen rate"),
}
RANK_KEYS = tuple(RANK_LABELS)
RANK_DEFAULT = "closure_rate"
# A city has hundreds of buildings: the chart shows those with the most requests.
BUILDINGS_CHARTED = 15
TREND_MONTHS = 12
# Figures by meeting (issue 12, point 7): the requests raised in the field, beside the web's.
FIELD_CHANNELS = (Channel.TEA_MEETING, Channel.ROUNDTABLE, Channel.VISIT)
COMPARED_CHANNEL = Channel.WEB


@dataclass(frozen=True)
class FieldWorkRow:
    """One month of the field work (or the whole period): the figures of each channel shown, and of the
    three field channels together."""

    key: str  # "2026-03", or "total"
    label: str
    by_channel: dict[str, Figures]  # channel value → its figures (the field channels, then the web)
    field: Figures  # tea meetings, roundtables and visits together


@dataclass(frozen=True)
class FieldWork:
    channels: list[tuple[str, str]]  # (value, label) of the channels shown, in the table's order
    months: list[FieldWorkRow]
    total: FieldWorkRow


@dataclass(frozen=True)
class DashboardData:
    """What the dashboard shows for one filter, before links are added."""

    period_text: str  # the period's short name, for the heading
    figures: Figures  # the cohort's figures: the cards' values and their parts
    coverage: CoverageFigures  # the coverage card and the list of gaps
    field_coverage: FieldCoverage  # 走访覆盖 in the period, beside 楼宇覆盖率
    field_work: FieldWork  # requests raised at meetings and visits per month, beside the web's
    ranking: list[BreakdownRow]  # one row per liaison, sorted as asked
    charts: list[tuple[str, str, bool]]  # (name, title, full width) of each chart, in the page's order
    chart_data: dict[str, Any]  # what dashboard.js draws


def build(
    flt: StatsFilter, now: datetime, sort: str = RANK_DEFAULT, descending: bool = True
) -> DashboardData:
    """The dashboard for ``flt`` at ``now``, the ranking sorted by ``sort`` (one of :data:`RANK_KEYS`).

    Raises ValueError for another ``sort``.
    """
    if sort not in RANK_KEYS:
        raise ValueError(f"cannot rank by {sort!r}")
    work = field_work(flt, now)
    return DashboardData(
        period_text=period_text(flt),
        figures=summary(flt, now),
        coverage=coverage(street_id=flt.street_id, building_id=flt.building_id),
        field_coverage=field_coverage(
            flt.start, flt.end, street_id=flt.street_id, building_id=flt.building_id
        ),
        field_work=work,
        ranking=_ranking(flt, now, sort, descending),
        charts=_charts(flt),
        chart_data={**_chart_data(flt, now), "field": _field_series(work)},
    )


def field_work(flt: StatsFilter, now: datetime) -> FieldWork:
    """Per month of the period, the requests raised at tea meetings, roundtables and visits and the web's,
    with their closure and satisfaction rates (the cohort rules of every figure: DESIGN §7), and the three
    field channels together; one breakdown by month and channel (a pass over the rollup, one over the live
    requests), whatever the period."""
    shown = (*FIELD_CHANNELS, COMPARED_CHANNEL)
    by_channel = breakdown_by_channel(flt, "month", shown, now)
    months = by_channel[COMPARED_CHANNEL.value]

    def row(key: str, label: str, figures: dict[str, Figures]) -> FieldWorkRow:
        field = add_figures(figures[c.value] for c in FIELD_CHANNELS)
        return FieldWorkRow(key, label, figures, field)

    rows = [
        row(month.key, month.label, {c.value: by_channel[c.value][i].figures for c in shown})
        for i, month in enumerate(months)
    ]
    totals = {c.value: add_figures(r.figures for r in by_channel[c.value]) for c in shown}
    return FieldWork(
        channels=[(c.value, str(CHANNEL_LABELS[c])) for c in shown],
        months=rows,
        total=row("total", _("The period"), totals),
    )


def period_text(flt: StatsFilter) -> str:
    """The period's short name: ``2026``, ``2026Q1``, ``2026-03`` or ``2026-03-10 ~ 2026-04-16``."""
    return periods.describe(flt.start, flt.end)


def _ranking(flt: StatsFilter, now: datetime, sort: str, descending: bool) -> list[BreakdownRow]:
    """Each liaison's figures, sorted by ``sort``; requests nobody was assigned are not a liaison's."""
    rows = [row for row in breakdown(flt, "liaison", now) if row.key != NONE_KEY]

    def value(row: BreakdownRow) -> float:
        return float(getattr(row.figures, sort))

    known = sorted((r for r in rows if getattr(r.figures, sort) is not None), key=value, reverse=descending)
    return known + [r for r in rows if getattr(r.figures, sort) is None]


# --------------------------------------------------------------------------- the charts


def _percent(value: float | None) -> float | None:
    """A rate for the charts: a percentage with one decimal (never 100 or 0 unless exact), or null (a gap in
    the line, not a zero)."""
    return shown_percent(value)


def _trend_filter(flt: StatsFilter) -> StatsFilter:
    """The trend covers the period, widened to the twelve months that end with it: a month is no trend."""
    last = date.fromordinal(flt.end.toordinal() - 1)
    months_back = last.year * 12 + last.month - 1 - (TREND_MONTHS - 1)
    first = date(months_back // 12, months_back % 12 + 1, 1)
    return replace(flt, start=min(flt.start, first))


def _series(rows: list[BreakdownRow]) -> dict[str, list[Any]]:
    return {
        "keys": [row.key for row in rows],
        "names": [row.label for row in rows],
        "total": [row.figures.total for row in rows],
        "resolved": [row.figures.resolved for row in rows],
        "closure_rate": [_percent(row.figures.closure_rate) for row in rows],
        "satisfaction_rate": [_percent(row.figures.satisfaction_rate) for row in rows],
    }


def _field_series(work: FieldWork) -> dict[str, Any]:
    """The field work's chart: the requests of each field channel per month (bars) and the closure rates of
    the field work and of the web (lines); no bars at all when the period had no field work."""
    any_field = work.total.field.total > 0
    return {
        "keys": [row.key for row in work.months],
        "names": [row.label for row in work.months],
        "total": [row.field.total for row in work.months] if any_field else [],
        "channels": [
            {"name": label, "values": [row.by_channel[value].total for row in work.months]}
            for value, label in work.channels
            if value != COMPARED_CHANNEL.value
        ],
        "field_closure_rate": [_percent(row.field.closure_rate) for row in work.months],
        "web_closure_rate": [
            _percent(row.by_channel[COMPARED_CHANNEL.value].closure_rate) for row in work.months
        ],
        "field_closure_label": _("Closure rate, field work (%)"),
        "web_closure_label": _("Closure rate, web (%)"),
    }


def _charts(flt: StatsFilter) -> list[tuple[str, str, bool]]:
    """(name, title, full width) of each chart, in the page's order."""
    trend = _trend_filter(flt)
    return [
        ("trend", _("Monthly trend, %(period)s", period=period_text(trend)), True),
        ("category", _("By category"), False),
        ("channel", _("By channel"), False),
        ("street", _("By street"), False),
        ("building", _("By building (the %(count)d with the most requests)", count=BUILDINGS_CHARTED), False),
    ]


def _chart_data(flt: StatsFilter, now: datetime) -> dict[str, Any]:
    """What dashboard.js draws: the series of each chart, with its labels in the page's language."""
    buildings = sorted(breakdown(flt, "building", now), key=lambda r: (-r.figures.total, r.label))
    return {
        "labels": {
            "total": _("Requests"),
            "resolved": _("Resolved"),
            "closure_rate": _("Closure rate (%)"),
            "satisfaction_rate": _("Satisfaction rate (%)"),
            "count": _("Requests"),
            "percent": "%",
            "empty": _("No requests in this period."),
        },
        "trend": _series(breakdown(_trend_filter(flt), "month", now)),
        "category": _series(breakdown(flt, "category", now)),
        "street": _series(breakdown(flt, "street", now)),
        "building": _series(buildings[:BUILDINGS_CHARTED]),
        "channel": _series(breakdown(flt, "channel", now)),
    }
