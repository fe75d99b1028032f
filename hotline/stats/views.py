"""Pages of the figures (DESIGN §7): the managers' dashboard and the requests behind each figure, and the
public summary of a year.  The numbers all come from :mod:`hotline.stats.queries`, the dashboard's through
:func:`hotline.stats.dashboard.build` (its whole query set); these views only read the filter, call the
queries, and add the links and the cards' wording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from hotline.auth.access import roles_required
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import Building, Street
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.i18n import localized_name
from hotline.kb.queries import deflections_between
from hotline.meetings.queries import FieldCoverage
from hotline.stats import periods, rates
from hotline.stats.dashboard import RANK_DEFAULT, RANK_KEYS, RANK_LABELS, build, period_text
from hotline.stats.forms import FILTER_ARGS, DashboardFilterForm, with_all
from hotline.stats.labels import FIGURES, LIST_LABELS
from hotline.stats.queries import (
    BreakdownRow,
    CoverageFigures,
    Figures,
    StatsFilter,
    breakdown,
    figure_count,
    summary,
    tickets_behind,
    utc_bounds,
)
from hotline.tickets import paging
from hotline.tickets.models import Category, Ticket
from hotline.timeutil import local_date

bp = Blueprint("stats", __name__)

GAPS_SHOWN = 100  # the coverage gaps listed on the dashboard, by street and name
FIRST_PUBLIC_YEAR = periods.FIRST_YEAR


# --------------------------------------------------------------------------- formatting


@bp.app_template_filter("rate")
def format_rate(value: float | None) -> str:
    """A rate as a percentage with one decimal; "—" when its denominator is 0, 100 % or 0 % only when exact
    (:mod:`hotline.stats.rates`, the one rule everywhere)."""
    return rates.format_rate(value)


@bp.app_template_filter("hours")
def format_hours(value: float | None) -> str:
    """Working hours with one decimal; "—" for an average over nothing."""
    return "—" if value is None else f"{value:.1f}"


# --------------------------------------------------------------------------- the filter


@dataclass
class Filter:
    """The filter form, the figures' filter it gives (None when the form has errors), its query arguments."""

    form: DashboardFilterForm
    stats: StatsFilter | None
    args: dict[str, Any]


def _fill_choices(form: DashboardFilterForm) -> None:
    streets = db.session.scalars(select(Street).order_by(Street.name)).all()
    buildings = db.session.scalars(
        select(Building).options(selectinload(Building.street)).order_by(Building.name)
    ).all()
    categories = db.session.scalars(select(Category).order_by(Category.sort_order, Category.id)).all()
    liaisons = db.session.scalars(
        select(User).where(User.role == Role.LIAISON).order_by(User.name, User.username)
    ).all()
    form.street.choices = with_all([(str(s.id), s.name) for s in streets])
    form.building.choices = with_all([(str(b.id), f"{b.name} · {b.street.name}") for b in buildings])
    form.category.choices = with_all([(str(c.id), localized_name(c)) for c in categories])
    form.liaison.choices = with_all([(str(u.id), f"{u.name} ({u.username})") for u in liaisons])


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None


def read_filter(args: MultiDict[str, str]) -> Filter:
    """The filter of the query string ``args``: the period defaults to the current year; a bad period or an
    unknown choice leaves ``stats`` None and the message next to its field."""
    form = DashboardFilterForm(formdata=args)
    _fill_choices(form)
    today = local_date(utcnow())
    kind = form.period.data if form.period.data in periods.KINDS else "year"
    form.period.data = kind
    if kind != "custom" and not (form.value.data or "").strip():
        form.value.data = periods.default_value(kind, today)
    if not form.validate():
        return Filter(form, None, {})
    try:
        period = periods.parse(
            kind, form.value.data or "", form.start.data or "", form.end.data or "", today=today
        )
    except ValidationFailed as error:
        fields = {"value": form.value, "from": form.start, "to": form.end, "period": form.period}
        for name, message in error.fields.items() or {"value": error.message}.items():
            field = fields.get(name, form.value)
            field.errors = [*field.errors, message]
        return Filter(form, None, {})
    stats = StatsFilter(
        start=period.start,
        end=period.end,
        street_id=_int_or_none(form.street.data),
        building_id=_int_or_none(form.building.data),
        category_id=_int_or_none(form.category.data),
        channel=form.channel.data or None,
        liaison_id=_int_or_none(form.liaison.data),
    )
    values = {
        "period": kind,
        "value": form.value.data if kind != "custom" else "",
        "from": form.start.data if kind == "custom" else "",
        "to": form.end.data if kind == "custom" else "",
        "street": form.street.data,
        "building": form.building.data,
        "category": form.category.data,
        "channel": form.channel.data,
        "liaison": form.liaison.data,
    }
    return Filter(form, stats, {name: str(values[name]) for name in FILTER_ARGS if values[name]})


# --------------------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class Part:
    """A count that goes into a figure, and the list of requests behind it ("" when there is no such list)."""

    label: Any
    count: int | str
    url: str = ""


@dataclass(frozen=True)
class Card:
    """One figure of §7 on the dashboard: its value, the list behind it, and for a rate its numerator and
    denominator, then the other counts that went into it."""

    key: str
    label: Any
    value: str
    url: str
    explanation: str = ""
    numerator: Part | None = None
    denominator: Part | None = None
    parts: tuple[Part, ...] = ()


def _cards(
    figures: Figures,
    link: Callable[[str], str],
    covered: CoverageFigures,
    field: FieldCoverage,
    field_link: str,
) -> list[Card]:
    f = figures
    judged_ack = f.acknowledged_on_time + f.acknowledged_late + f.returned_late + f.unacknowledged_overdue
    judged_resolve = f.resolved - f.resolved_untimed
    no_deadline = _l("Without a deadline, not judged")
    resolved = Part(_l("resolved"), f.resolved, link("resolved"))
    return [
        Card(
            "total",
            _l("Requests received"),
            str(f.total),
            link("total"),
            parts=(Part(_l("Withdrawn, not counted"), f.withdrawn),),
        ),
        Card("resolved", _l("Requests resolved"), str(f.resolved), link("resolved")),
        Card(
            "closure_rate",
            _l("Closure rate"),
            format_rate(f.closure_rate),
            link("resolved"),
            _("resolved ÷ received"),
            resolved,
            Part(_l("received"), f.total, link("total")),
        ),
        Card(
            "satisfaction_rate",
            _l("Satisfaction rate"),
            format_rate(f.satisfaction_rate),
            link("satisfied"),
            _("satisfied and basically satisfied ÷ rated (the latest rating of each request)"),
            Part(_l("satisfied"), f.satisfied + f.basically_satisfied, link("satisfied")),
            Part(_l("rated"), f.rated, link("rated")),
            (
                Part(_l("Dissatisfied"), f.dissatisfied, link("dissatisfied")),
                Part(
                    _l("Rated by the enterprise online"), f.rated_by_enterprise, link("rated_by_enterprise")
                ),
                Part(_l("Recorded from a follow-up call"), f.rated_by_followup, link("rated_by_followup")),
            ),
        ),
        Card(
            "first_rating_satisfaction_rate",
            _l("Satisfaction at the first rating"),
            format_rate(f.first_rating_satisfaction_rate),
            link("rated"),
            _("first rating satisfied or basically satisfied ÷ rated (ratings after a reopening left out)"),
            Part(_l("satisfied at first"), f.first_satisfied),
            Part(_l("rated"), f.rated, link("rated")),
            (Part(_l("Reopened"), f.reopened, link("reopened")),),
        ),
        Card(
            "rating_rate",
            _l("Rating rate"),
            format_rate(f.rating_rate),
            link("rated_resolved"),
            _("resolved requests with a rating ÷ resolved"),
            Part(_l("resolved and rated"), f.rated_resolved, link("rated_resolved")),
            resolved,
            (Part(_l("Resolved, not rated"), f.unrated, link("unrated")),),
        ),
        Card(
            "response_rate",
            _l("Response rate"),
            format_rate(f.response_rate),
            link("acknowledged_on_time"),
            _(
                "in time ÷ (acknowledged + returned after the deadline + not acknowledged past the "
                "deadline); a request returned before its deadline is not judged"
            ),
            Part(_l("in time"), f.acknowledged_on_time, link("acknowledged_on_time")),
            Part(_l("judged"), judged_ack),
            (
                Part(_l("Acknowledged late"), f.acknowledged_late, link("acknowledged_late")),
                Part(_l("Returned after the signing deadline"), f.returned_late, link("returned_late")),
                Part(
                    _l("Not acknowledged, past the deadline"),
                    f.unacknowledged_overdue,
                    link("unacknowledged_overdue"),
                ),
                *((Part(no_deadline, f.acknowledged_untimed),) if f.acknowledged_untimed else ()),
            ),
        ),
        Card(
            "on_time_rate",
            _l("On-time rate"),
            format_rate(f.on_time_rate),
            link("resolved_on_time"),
            _("resolved by the deadline ÷ resolved"),
            Part(_l("in time"), f.resolved_on_time, link("resolved_on_time")),
            Part(_l("resolved"), judged_resolve, link("resolved") if not f.resolved_untimed else ""),
            (
                Part(_l("Resolved late"), f.resolved_late, link("resolved_late")),
                *((Part(no_deadline, f.resolved_untimed),) if f.resolved_untimed else ()),
            ),
        ),
        Card(
            "reopen_rate",
            _l("Reopen rate"),
            format_rate(f.reopen_rate),
            link("reopened"),
            _("reopened at least once ÷ resolved"),
            Part(_l("reopened"), f.reopened, link("reopened")),
            resolved,
        ),
        Card(
            "avg_handling_hours",
            _l("Average handling time (working hours)"),
            format_hours(f.avg_handling_hours),
            link("resolved"),
            _(
                "working hours from submission to resolution, over %(count)d resolved requests",
                count=f.handled,
            ),
        ),
        Card(
            "overdue_open",
            _l("Overdue, not resolved"),
            str(f.overdue_open),
            link("overdue_open"),
            _("open requests past their resolution deadline now"),
        ),
        Card(
            "coverage",
            _l("Building coverage"),
            format_rate(covered.rate),
            "#coverage-gaps",
            _(
                "buildings whose primary liaison is active and not on leave ÷ buildings, now (by the chosen "
                "street or building)"
            ),
            Part(_l("covered"), covered.covered),
            Part(_l("buildings"), covered.buildings),
            (
                Part(_l("Covered by a deputy only"), covered.deputy_only, "#coverage-gaps"),
                Part(_l("Covered by nobody"), covered.uncovered, "#coverage-gaps"),
            ),
        ),
        Card(
            "field_coverage",
            _l("Field coverage"),
            format_rate(field.rate),
            field_link,
            _(
                "buildings whose every enterprise was visited or attended a held meeting in the period ÷ "
                "buildings with enterprises (by the chosen street or building)"
            ),
            Part(_l("covered"), field.covered),
            Part(_l("buildings with enterprises"), field.buildings),
            (Part(_l("Buildings without enterprises, not counted"), field.empty),),
        ),
    ]


@bp.route("/manage/dashboard")
@roles_required(Role.MANAGER)
def dashboard() -> tuple[str, int]:
    flt = read_filter(request.args)
    sort = request.args.get("sort", RANK_DEFAULT)
    sort = sort if sort in RANK_KEYS else RANK_DEFAULT
    descending = request.args.get("dir", "desc") != "asc"
    if flt.stats is None:
        return render_template("stats/dashboard.html", filter=flt, figures=None), 400
    data = build(flt.stats, utcnow(), sort, descending)

    def link(figure: str) -> str:
        return url_for(".requests", figure=figure, **flt.args)

    # the coverage page shows 走访覆盖 per street and building for a month, a quarter or a year
    period = period_text(flt.stats)
    field_link = (
        url_for("district.streets", period=period)
        if periods.readable(period)
        else url_for("district.streets")
    )

    def rank_link(key: str) -> str:
        flip = "asc" if key == sort and descending else "desc"
        return url_for(".dashboard", sort=key, dir=flip, **flt.args) + "#ranking"

    return render_template(
        "stats/dashboard.html",
        filter=flt,
        period_text=data.period_text,
        figures=data.figures,
        cards=_cards(data.figures, link, data.coverage, data.field_coverage, field_link),
        coverage=data.coverage,
        field_work=data.field_work,
        gaps_shown=GAPS_SHOWN,
        ranking=data.ranking,
        sort=sort,
        descending=descending,
        rank_link=rank_link,
        rank_columns=[(key, RANK_LABELS[key]) for key in RANK_KEYS],
        charts=data.charts,
        data=data.chart_data,
        deflections=deflections_between(*utc_bounds(flt.stats)),
    ), 200


def chosen_filters(form: DashboardFilterForm) -> list[tuple[str, str]]:
    """The filters chosen besides the period, as (label, shown value), for the heading of a list."""
    chosen = []
    for field in (form.street, form.building, form.category, form.channel, form.liaison):
        if field.data:
            shown = {str(c.value): str(c.label) for c in field.choices}
            chosen.append((str(field.label.text), shown.get(str(field.data), str(field.data))))
    return chosen


@bp.route("/manage/dashboard/requests")
@roles_required(Role.MANAGER)
def requests() -> tuple[str, int]:
    """The requests counted in one figure, with the dashboard's filter: what makes a number explainable."""
    figure = next((name for name in FIGURES if name == request.args.get("figure")), None)
    if figure is None:
        abort(404)
    flt = read_filter(request.args)
    context: dict[str, Any] = {"filter": flt, "figure": figure, "figure_labels": LIST_LABELS}
    if flt.stats is None:
        return render_template("stats/requests.html", page=None, **context), 400
    now = utcnow()
    # The list's size is the figure it explains, read as the dashboard reads it (rollup + live): counting
    # the list again would cost a scan of the period at every page.
    size = figure_count(summary(flt.stats, now), figure)
    shown = [selectinload(Ticket.category), selectinload(Ticket.enterprise), selectinload(Ticket.assignee)]
    page = paging.paginate(
        tickets_behind(flt.stats, figure, now),
        [paging.Segment(None, size, descending=True)],
        options=shown,
        per_page=current_app.config["PER_PAGE"],
        max_per_page=100,
    )
    return render_template(
        "stats/requests.html",
        page=page,
        period_text=period_text(flt.stats),
        filter_labels=chosen_filters(flt.form),
        **context,
    ), 200


# --------------------------------------------------------------------------- the public summary


@dataclass(frozen=True)
class PublicYear:
    year: int
    figures: Figures
    streets: list[BreakdownRow]


@bp.route("/public/summary")
def public() -> str:
    """A year's figures for everyone: totals and rates by street, no enterprise, person or request."""
    this_year = local_date(utcnow()).year
    raw = request.args.get("year", "")
    if raw and not (raw.isdigit() and FIRST_PUBLIC_YEAR <= int(raw) <= this_year):
        abort(404)
    year = int(raw) if raw else this_year
    now = utcnow()
    flt = StatsFilter(start=date(year, 1, 1), end=date(year + 1, 1, 1))
    page = PublicYear(year, summary(flt, now), breakdown(flt, "street", now))
    years = list(range(this_year, max(FIRST_PUBLIC_YEAR, this_year - 4) - 1, -1))
    # the reports feature builds on this one
    from hotline.reports.services import earlier_versions, latest_year_report

    frozen = latest_year_report(local_date(now))
    earlier = earlier_versions(frozen) if frozen is not None else []
    return render_template("stats/public.html", page=page, years=years, frozen=frozen, earlier=earlier)
