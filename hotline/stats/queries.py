"""The figures of DESIGN §7, in one module: every number the dashboard, exports, API and public page show.

INTERFACE (agreed between the engineers building the figures, the pages and the exports).  All periods are
cohorts of requests *created* in [start, end) — local (Asia/Shanghai) dates, turned into UTC bounds —
excluding withdrawn and merged requests.  A rate whose denominator is 0 is None (shown as "—").

Definitions, per request of the cohort (every figure is a sum of these, so breakdowns add up to the summary):

- ``resolved``: now ``resolved`` or ``closed``.
- ``rated``: has a rating; the row keeps the *latest* one (``rating_score``), so a request rated dissatisfied
  and later satisfied counts as satisfied.  A request closed unrated is neither rated nor satisfied.
- ``first_satisfied``: the *first* rating (``first_rating_score``) satisfied or basically satisfied; the
  first-rating satisfaction rate is ``first_satisfied ÷ rated`` (a request has a first rating exactly when
  it has a latest one), so re-rating after 重办 cannot lift it.
- ``rated_by_enterprise`` / ``rated_by_followup``: rated, the latest rating given by the enterprise online or
  recorded by staff from a follow-up call (``rating_source``).
- ``unrated``: resolved with no rating (closed unrated, or still within its time to rate online or in the
  follow-up calls' queue).
- ``rated_resolved``: resolved with a rating, ``resolved - unrated`` (derived, not a rollup counter); the
  rating rate is ``rated_resolved ÷ resolved``.  ``rated`` is not its numerator: it also counts a request
  reopened after a dissatisfied rating and being worked again (it keeps that latest rating, DESIGN §7:
  "rated" = has a latest rating, in any state), which is not resolved, so in neither side of the rating rate.

  Two identities reconcile the counts, per cohort and per breakdown row::

      rated_by_enterprise + rated_by_followup = rated
      rated_resolved + unrated = resolved

  and ``rated - rated_resolved`` is the number of rated requests reopened and not resolved again.
- ``withdrawn``: withdrawn requests created in the period: outside the cohort, counted apart so the page can
  say how many were left out (read live through ``ix_tickets_state_created``; not a rollup counter).
- The signing (acknowledge) clock is judged when it stops (DESIGN §7): ``returned_late``: some signing clock
  of the request was stopped by a return after its deadline (``late_returns > 0``): late, whatever the next
  assignee does.  Otherwise ``acknowledged_on_time`` / ``acknowledged_late``: acknowledged at or before /
  after ``acknowledge_due_at``; ``unacknowledged_overdue``: waiting for acknowledgement (``assigned``) with
  ``acknowledge_due_at`` before ``now`` — the clock runs only in that state.  A clock stopped by a return
  before its deadline is in neither side.  Response rate = on time ÷ (on time + late + returned late +
  unacknowledged overdue).
- ``resolved_on_time``: resolved (see above) with ``resolved_at`` at or before ``resolve_due_at``.
- Requests without a deadline: the deadlines are None only when the working-day calendar lacked a year when
  the clock started (DESIGN §5: managers are warned, no Monday-Friday guess).  Such a request had no limit it
  could meet or miss, so it is left out of that timeliness rate — numerator *and* denominator — and counted
  apart (``acknowledged_untimed``, ``resolved_untimed``) so the page can say how many were not judged.
  Counting them as on time would flatter the rate, counting them late would blame the liaison for the
  calendar.  So response rate = on time ÷ (on time + late + returned late + unacknowledged overdue), and
  on-time rate =
  resolved on time ÷ (resolved - resolved untimed); with every deadline known these are §7's formulas.
- ``reopened``: resolved and reopened at least once (``reopen_count > 0``, so twice counts once).
- ``avg_handling_hours``: mean of ``Ticket.handling_minutes`` (working minutes submission → resolution,
  stored at resolution) over the resolved requests that have it, in hours.
- ``overdue_open``: open (submitted/assigned/in progress/returned) with ``resolve_due_at`` before ``now``.

Speed (DESIGN §10, issue 4 item 7).  A cohort is split in two, and each part is read where it is cheap:

- *closed* requests — final, about 95 % of a history — from the monthly rollup ``stats_cells``
  (:mod:`hotline.stats.models`), kept exact in the same transaction as every change by
  :mod:`hotline.stats.rollup`; the partial months at either end of a custom period are read from ``tickets``
  (index ``ix_tickets_state_created``);
- every other request (open, or resolved and awaiting its rating: the only ones whose figures still move,
  and the only ones measured against ``now``) from ``tickets`` through the partial index
  ``ix_tickets_live_created``, covering on PostgreSQL (index-only scans).

No figure scans every request.  Measured in-process over 1,000,000 requests (3 years, PostgreSQL 15, 2 cores;
median of 7), before the benchmark moved to HTTP: a query set close to the dashboard's (summary, six
breakdowns, coverage, the first page of the overdue board) took 125 ms for a year and 93 ms for a month, 69
to 77 ms filtered, 2.8 times a bare ``SELECT count(*) FROM tickets`` (44 ms) in the same run, against 1.55 s
(35 times) for the same figures recounted over every request of the cohort (:func:`recount_summary`,
:func:`recount_breakdown`).  Indexes alone cannot reach the target: any scan of a year's ~300k rows, even
index-only and in one GROUPING SETS pass, costs several times the count; the rollup reads ~9k cells for a
year.  The live part's covering index took its queries from ~20 to ~7 ms each.  ``make bench-stats`` now
times the pages themselves over HTTP (bench/README.md).  An enterprise's own history skips the rollup (its
requests are few and indexed by enterprise).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from typing import Any, Literal

from flask import has_app_context
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select

from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import Building, Coverage, CoverageRole, Street
from hotline.extensions import db
from hotline.stats.models import StatsCell
from hotline.tickets.labels import CHANNEL_LABELS
from hotline.tickets.models import (
    OPEN_STATES,
    Category,
    Channel,
    RatingScore,
    RatingSource,
    Ticket,
    TicketState,
)
from hotline.timeutil import LOCAL_TZ, local_date

Dimension = Literal["month", "category", "street", "building", "channel", "liaison"]
DIMENSIONS: tuple[Dimension, ...] = ("month", "category", "street", "building", "channel", "liaison")
# Figures that have a list of requests behind them (drill-down, exports).
FigureName = Literal[
    "total",
    "resolved",
    "rated",
    "satisfied",
    "dissatisfied",
    "acknowledged_on_time",
    "acknowledged_late",
    "unacknowledged_overdue",
    "resolved_on_time",
    "resolved_late",
    "reopened",
    "overdue_open",
    "returned_late",
    "rated_by_enterprise",
    "rated_by_followup",
    "unrated",
    "rated_resolved",
]

EXCLUDED_STATES = (TicketState.WITHDRAWN, TicketState.MERGED)
RESOLVED_STATES = (TicketState.RESOLVED, TicketState.CLOSED)
NONE_KEY = "none"  # the breakdown key of requests without a street / an assignee


@dataclass(frozen=True)
class StatsFilter:
    start: date  # first local day of the period
    end: date  # first local day after the period
    street_id: int | None = None
    building_id: int | None = None
    category_id: int | None = None
    channel: str | None = None
    liaison_id: int | None = None  # the assignee
    enterprise_id: int | None = None  # an enterprise's own history


@dataclass
class Figures:
    total: int = 0  # 受理量
    resolved: int = 0  # 办结量: now resolved or closed
    rated: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    acknowledged_on_time: int = 0
    acknowledged_late: int = 0
    unacknowledged_overdue: int = 0  # not acknowledged and past acknowledge_due_at now
    resolved_on_time: int = 0  # resolved by resolve_due_at
    reopened: int = 0  # reopened at least once, among the resolved
    handling_hours_total: float = 0.0  # working hours submission→resolution, summed over the resolved
    overdue_open: int = 0  # open and past resolve_due_at now
    closure_rate: float | None = None  # resolved / total
    satisfaction_rate: float | None = None  # (satisfied + basically) / rated
    response_rate: float | None = None  # on time / (acknowledged + unacknowledged overdue)
    on_time_rate: float | None = None  # resolved_on_time / resolved
    reopen_rate: float | None = None  # reopened / resolved
    avg_handling_hours: float | None = None
    # Added by the figures module (see the module docstring for the rules).
    acknowledged_untimed: int = 0  # acknowledged, but no acknowledge deadline was ever set
    resolved_untimed: int = 0  # resolved, but no resolve deadline was set
    handled: int = 0  # resolved requests with a handling time (the mean's denominator)
    handling_minutes_total: int = 0
    # Issue 11: what the satisfaction rate leaves out or hides (see the module docstring).
    first_satisfied: int = 0  # the first rating satisfied or basically satisfied
    rated_by_enterprise: int = 0  # the latest rating given by the enterprise online
    rated_by_followup: int = 0  # the latest rating recorded by staff from a follow-up call
    unrated: int = 0  # resolved, no rating
    rated_resolved: int = 0  # resolved with a rating: resolved - unrated (derived)
    returned_late: int = 0  # a signing clock stopped by a return after its deadline
    withdrawn: int = 0  # withdrawn, created in the period: outside the cohort
    first_rating_satisfaction_rate: float | None = None  # first_satisfied / rated
    rating_rate: float | None = None  # rated_resolved / resolved

    @property
    def resolved_late(self) -> int:
        return self.resolved - self.resolved_on_time - self.resolved_untimed


@dataclass
class BreakdownRow:
    key: str  # "2026-03", a category code, an id, a channel value
    label: str  # shown in the page's language
    figures: Figures = field(default_factory=Figures)


@dataclass
class CoverageFigures:
    buildings: int
    covered: int  # with a primary liaison who is an active user, not on leave
    rate: float | None
    # (building id, building name, street name, DEPUTY_ONLY or UNCOVERED) of those without one
    gaps: list[tuple[int, str, str, str]]

    @property
    def deputy_only(self) -> int:
        """Gaps a deputy covers meanwhile (routing gives it the building's requests)."""
        return sum(1 for gap in self.gaps if gap[3] == DEPUTY_ONLY)

    @property
    def uncovered(self) -> int:
        """Gaps nobody covers (their requests go to the street's liaisons, or wait in the pool)."""
        return len(self.gaps) - self.deputy_only


DEPUTY_ONLY, UNCOVERED = "deputy_only", "uncovered"


# The additive counters, in the order the SQL selects them.
COUNTERS: tuple[str, ...] = (
    "total",
    "resolved",
    "rated",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "acknowledged_on_time",
    "acknowledged_late",
    "acknowledged_untimed",
    "unacknowledged_overdue",
    "resolved_on_time",
    "resolved_untimed",
    "reopened",
    "handled",
    "handling_minutes_total",
    "overdue_open",
    "first_satisfied",
    "rated_by_enterprise",
    "rated_by_followup",
    "unrated",
    "returned_late",
)
# Counters measured against ``now`` are 0 for a closed request; the rollup holds all the others.
NOW_COUNTERS = ("unacknowledged_overdue", "overdue_open")
ROLLED_COUNTERS: tuple[str, ...] = tuple(name for name in COUNTERS if name not in NOW_COUNTERS)


# --------------------------------------------------------------------------- periods and conditions


def utc_bounds(flt: StatsFilter) -> tuple[datetime, datetime]:
    """The period's local days [start, end) as UTC instants."""
    return _local_midnight(flt.start), _local_midnight(flt.end)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def _month_starts(start: date, end: date) -> list[date]:
    """The first day of each month that [start, end) touches (the first one may be ``start`` itself)."""
    months: list[date] = []
    day = date(start.year, start.month, 1)
    while day < end:
        months.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return months


def filter_conditions(flt: StatsFilter) -> list[ColumnElement[bool]]:
    """The cohort: created in the period, not withdrawn nor merged, narrowed by the filters."""
    lo, hi = utc_bounds(flt)
    conditions: list[ColumnElement[bool]] = [
        Ticket.created_at >= lo,
        Ticket.created_at < hi,
        Ticket.state.not_in(EXCLUDED_STATES),
    ]
    conditions.extend(_dimension_conditions(flt))
    return conditions


def period_conditions(flt: StatsFilter) -> list[ColumnElement[bool]]:
    """Every request created in the period, in any state (withdrawn and merged too), narrowed by the
    filters: what the events' export covers (issue 11, point 6)."""
    lo, hi = utc_bounds(flt)
    return [Ticket.created_at >= lo, Ticket.created_at < hi, *_dimension_conditions(flt)]


def _dimension_conditions(flt: StatsFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.street_id is not None:
        conditions.append(Ticket.street_id == flt.street_id)
    if flt.building_id is not None:
        conditions.append(Ticket.building_id == flt.building_id)
    if flt.category_id is not None:
        conditions.append(Ticket.category_id == flt.category_id)
    if flt.channel is not None:
        conditions.append(Ticket.channel == Channel(flt.channel))
    if flt.liaison_id is not None:
        conditions.append(Ticket.assignee_id == flt.liaison_id)
    if flt.enterprise_id is not None:
        conditions.append(Ticket.enterprise_id == flt.enterprise_id)
    return conditions


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _is_resolved() -> ColumnElement[bool]:
    return Ticket.state.in_(RESOLVED_STATES)


def counter_conditions(now: datetime | None) -> dict[str, ColumnElement[bool]]:
    """Per counter, the condition a request of the cohort meets to be counted in it (see the docstring).

    The two counters measured against ``now`` are left out when ``now`` is None.
    """
    resolved = _is_resolved()
    # a request whose signing clock was stopped late by a return is judged by that (returned_late) alone
    not_returned_late = Ticket.late_returns == 0
    acknowledged = and_(not_returned_late, Ticket.acknowledged_at.is_not(None))
    rated = Ticket.rating_score.is_not(None)
    conditions: dict[str, ColumnElement[bool]] = {
        "resolved": resolved,
        "rated": rated,
        "satisfied": Ticket.rating_score == RatingScore.SATISFIED,
        "basically_satisfied": Ticket.rating_score == RatingScore.BASICALLY_SATISFIED,
        "dissatisfied": Ticket.rating_score == RatingScore.DISSATISFIED,
        "first_satisfied": Ticket.first_rating_score.in_(
            (RatingScore.SATISFIED, RatingScore.BASICALLY_SATISFIED)
        ),
        "rated_by_enterprise": and_(rated, Ticket.rating_source == RatingSource.ENTERPRISE),
        "rated_by_followup": and_(rated, Ticket.rating_source == RatingSource.FOLLOWUP_CALL),
        "unrated": and_(resolved, Ticket.rating_score.is_(None)),
        "rated_resolved": and_(resolved, rated),  # the list behind the derived figure (not a counter)
        "returned_late": Ticket.late_returns > 0,
        "acknowledged_on_time": and_(acknowledged, Ticket.acknowledged_at <= Ticket.acknowledge_due_at),
        "acknowledged_late": and_(acknowledged, Ticket.acknowledged_at > Ticket.acknowledge_due_at),
        "acknowledged_untimed": and_(acknowledged, Ticket.acknowledge_due_at.is_(None)),
        "resolved_on_time": and_(resolved, Ticket.resolved_at <= Ticket.resolve_due_at),
        "resolved_late": and_(resolved, Ticket.resolved_at > Ticket.resolve_due_at),
        "resolved_untimed": and_(resolved, Ticket.resolve_due_at.is_(None)),
        "reopened": and_(resolved, Ticket.reopen_count > 0),
        "handled": and_(resolved, Ticket.handling_minutes.is_not(None)),
    }
    if now is not None:
        conditions["unacknowledged_overdue"] = and_(
            not_returned_late,
            Ticket.state == TicketState.ASSIGNED,
            Ticket.acknowledged_at.is_(None),
            Ticket.acknowledge_due_at < now,
        )
        conditions["overdue_open"] = and_(Ticket.state.in_(OPEN_STATES), Ticket.resolve_due_at < now)
    return conditions


def counter_expressions(
    now: datetime | None, names: Sequence[str] = COUNTERS
) -> dict[str, ColumnElement[Any]]:
    """Aggregate expressions (SUM/COUNT over ``tickets`` rows) for the counters ``names``."""
    conditions = counter_conditions(now)
    expressions: dict[str, ColumnElement[Any]] = {}
    for name in names:
        if name == "total":
            expressions[name] = func.count()
        elif name == "handling_minutes_total":
            minutes = case((_is_resolved(), Ticket.handling_minutes), else_=None)
            expressions[name] = func.coalesce(func.sum(minutes), 0)
        else:
            expressions[name] = func.coalesce(func.sum(_flag(conditions[name])), 0)
    return expressions


def counter_columns(now: datetime | None, names: Sequence[str] = COUNTERS) -> list[ColumnElement[Any]]:
    """The labelled columns of :func:`counter_expressions`, in the order of ``names``."""
    return [expression.label(name) for name, expression in counter_expressions(now, names).items()]


# --------------------------------------------------------------------------- figures from counters


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def finish(figures: Figures) -> Figures:
    """Derive the rates and ``rated_resolved`` from the counters (in place) and return the figures."""
    f = figures
    f.handling_hours_total = f.handling_minutes_total / 60
    f.closure_rate = _rate(f.resolved, f.total)
    f.satisfaction_rate = _rate(f.satisfied + f.basically_satisfied, f.rated)
    f.response_rate = _rate(
        f.acknowledged_on_time,
        f.acknowledged_on_time + f.acknowledged_late + f.returned_late + f.unacknowledged_overdue,
    )
    f.first_rating_satisfaction_rate = _rate(f.first_satisfied, f.rated)
    f.rated_resolved = f.resolved - f.unrated
    f.rating_rate = _rate(f.rated_resolved, f.resolved)
    f.on_time_rate = _rate(f.resolved_on_time, f.resolved - f.resolved_untimed)
    f.reopen_rate = _rate(f.reopened, f.resolved)
    f.avg_handling_hours = None if f.handled == 0 else f.handling_minutes_total / f.handled / 60
    return f


def figures_from_counts(counts: Sequence[Any] | dict[str, Any]) -> Figures:
    """Figures from the counters (a row in :data:`COUNTERS` order, or a mapping by name)."""
    if isinstance(counts, dict):
        values = {name: int(counts.get(name) or 0) for name in COUNTERS}
    else:
        values = {name: int(value or 0) for name, value in zip(COUNTERS, counts, strict=True)}
    return finish(Figures(**values))


def add_figures(rows: Iterable[Figures]) -> Figures:
    """The sum of several cells' counters, with the rates derived again."""
    total = Figures()
    for row in rows:
        for name in (*COUNTERS, "withdrawn"):  # withdrawn: counted apart, added up all the same
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return finish(total)


# --------------------------------------------------------------------------- the public functions


def summary(flt: StatsFilter, now: datetime) -> Figures:
    """Every figure of §7 for the cohort."""
    return _with_withdrawn(flt, None, _tally(flt, None, now)).get(_ALL) or finish(Figures())


def breakdown(flt: StatsFilter, dimension: Dimension, now: datetime) -> list[BreakdownRow]:
    """The figures per month / category / street / building / channel / liaison, in a stable order.

    Months: every month the period touches, in order, including empty ones (a trend has no holes); the
    others: only keys with requests, in the dimension's natural order (category order, street and building
    names, channel order, liaison name).  Requests with no street or no assignee get the key ``"none"``, so
    the rows always add up to :func:`summary`.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    return _rows(flt, dimension, _with_withdrawn(flt, dimension, _tally(flt, dimension, now)))


def breakdown_by_channel(
    flt: StatsFilter, dimension: Dimension, channels: Sequence[Channel | str], now: datetime
) -> dict[str, list[BreakdownRow]]:
    """:func:`breakdown` of ``dimension`` for each of ``channels`` at once: channel value → the rows that
    ``breakdown(replace(flt, channel=c), dimension, now)`` gives, read in one pass over the rollup and one
    over the live requests whatever the number of channels (the dashboard's figures by meeting: months of
    requests raised at tea meetings, roundtables and visits beside the web's).  A channel filter in
    ``flt`` still applies: the other channels then have no requests.
    """
    if dimension not in DIMENSIONS or dimension == "channel":
        raise ValueError(f"cannot break down by channel and {dimension!r}")
    wanted = tuple(dict.fromkeys(Channel(c) for c in channels))
    counts = _with_withdrawn(flt, dimension, _tally(flt, dimension, now, wanted), wanted)
    out: dict[str, list[BreakdownRow]] = {}
    for channel in wanted:
        mine = {key: figures for (key, value), figures in counts.items() if value == channel.value}
        out[channel.value] = _rows(flt, dimension, mine)
    return out


def recount_summary(flt: StatsFilter, now: datetime) -> Figures:
    """:func:`summary` the straightforward way, one aggregate over every request of the cohort (no rollup).

    For checking the fast path, and the path the enterprise's own history always takes."""
    counts = _direct(flt, None, now, filter_conditions(flt))
    return _with_withdrawn(flt, None, counts).get(_ALL) or finish(Figures())


def recount_breakdown(flt: StatsFilter, dimension: Dimension, now: datetime) -> list[BreakdownRow]:
    """:func:`breakdown` the straightforward way (no rollup)."""
    counts = _direct(flt, dimension, now, filter_conditions(flt))
    return _rows(flt, dimension, _with_withdrawn(flt, dimension, counts))


# --------------------------------------------------------------------------- the fast path

_ALL = "all"
# Every state a request of a cohort can be in, other than closed: read live from ``tickets``.
LIVE_STATES = (*OPEN_STATES, TicketState.RESOLVED)


def _full_months(flt: StatsFilter) -> list[date]:
    """The months lying wholly inside the period: these come from the rollup."""
    return [m for m in _month_starts(flt.start, flt.end) if m >= flt.start and _next_month(m) <= flt.end]


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _tally(
    flt: StatsFilter,
    dimension: Dimension | None,
    now: datetime,
    channels: Sequence[Channel] | None = None,
) -> dict[Any, Figures]:
    """The counters per key of ``dimension`` (one key, ``"all"``, for none), with the rates derived; with
    ``channels``, only requests of those channels, per (key, channel value).

    Closed requests of whole months come from the rollup (:mod:`hotline.stats.models`); closed requests of
    the partial months at either end of a custom period, and every request not closed (open or awaiting its
    rating: a few percent of a history, and the only ones whose figures still move), from ``tickets``.
    An enterprise's own history has no rollup (its requests are few and indexed by enterprise).
    """
    months = _full_months(flt)
    if flt.enterprise_id is not None or not months:
        return _direct(flt, dimension, now, filter_conditions(flt), channels=channels)
    lo, hi = utc_bounds(flt)
    dims = _dimension_conditions(flt)
    live = [Ticket.created_at >= lo, Ticket.created_at < hi, *dims]
    parts = [
        _from_rollup(flt, dimension, months, channels),
        _direct(flt, dimension, now, live, LIVE_STATES, channels=channels),
    ]
    for edge_start, edge_end in ((flt.start, months[0]), (_next_month(months[-1]), flt.end)):
        if edge_start < edge_end:
            a, b = _local_midnight(edge_start), _local_midnight(edge_end)
            conditions = [Ticket.created_at >= a, Ticket.created_at < b, *dims]
            parts.append(_direct(flt, dimension, now, conditions, (TicketState.CLOSED,), channels=channels))
    merged: dict[Any, list[Figures]] = {}
    for part in parts:
        for key, figures in part.items():
            merged.setdefault(key, []).append(figures)
    return {key: add_figures(rows) for key, rows in merged.items()}


def _direct(
    flt: StatsFilter,
    dimension: Dimension | None,
    now: datetime,
    conditions: list[ColumnElement[bool]],
    states: Sequence[TicketState] | None = None,
    *,
    channels: Sequence[Channel] | None = None,
) -> dict[Any, Figures]:
    """One aggregate over ``tickets`` rows meeting ``conditions`` (and in ``states``, when given); with
    ``channels``, of those channels only and keyed by (key, channel value)."""
    where = list(conditions)
    if states is not None:
        where.append(Ticket.state.in_(states))
    if channels is not None:
        where.append(Ticket.channel.in_(channels))
    if dimension is None and channels is None:
        row = db.session.execute(select(*counter_columns(now)).where(*where)).one()
        return {_ALL: figures_from_counts(row)} if row[0] else {}
    keys = _key_columns(flt, dimension, channels)
    query = select(*keys, *counter_columns(now)).where(*where).group_by(*keys)
    return {
        _row_key(dimension, row, channels): figures_from_counts(row[len(keys) :])
        for row in db.session.execute(query).all()
    }


def _key_columns(
    flt: StatsFilter, dimension: Dimension | None, channels: Sequence[Channel] | None
) -> list[ColumnElement[Any]]:
    """The GROUP BY columns over ``tickets``: the dimension's key, then the channel when asked for."""
    keys: list[Any] = [] if dimension is None else [_dimension_key(flt, dimension)]
    if channels is not None:
        keys.append(Ticket.channel)
    return keys


def _row_key(dimension: Dimension | None, row: Sequence[Any], channels: Sequence[Channel] | None) -> Any:
    """A result row's key: the dimension's (``"all"`` for none), paired with the channel when asked for."""
    key = _ALL if dimension is None else _normal_key(dimension, row[0])
    if channels is None:
        return key
    return (key, Channel(row[0 if dimension is None else 1]).value)


def _with_withdrawn(
    flt: StatsFilter,
    dimension: Dimension | None,
    counts: dict[Any, Figures],
    channels: Sequence[Channel] | None = None,
) -> dict[Any, Figures]:
    """``counts`` with the withdrawn requests of the period added per key (in place; returned).

    They are outside the cohort, so they change no other figure; a key holding only withdrawn requests
    gets a row of its own, with every other figure 0.  Read through ``ix_tickets_state_created``.
    """
    lo, hi = utc_bounds(flt)
    where = [
        Ticket.state == TicketState.WITHDRAWN,
        Ticket.created_at >= lo,
        Ticket.created_at < hi,
        *_dimension_conditions(flt),
    ]
    if channels is not None:
        where.append(Ticket.channel.in_(channels))
    if dimension is None and channels is None:
        total = db.session.execute(select(func.count()).select_from(Ticket).where(*where)).scalar_one()
        found = {_ALL: int(total)}
    else:
        keys = _key_columns(flt, dimension, channels)
        query = select(*keys, func.count()).where(*where).group_by(*keys)
        found = {
            _row_key(dimension, row, channels): int(row[len(keys)]) for row in db.session.execute(query).all()
        }
    for key, number in found.items():
        if number:
            counts.setdefault(key, finish(Figures())).withdrawn = number
    return counts


def _normal_key(dimension: Dimension, key: Any) -> Any:
    """One key per cell whichever source it comes from: ints, channel values, None for no street/liaison."""
    if key is None or (dimension in ("street", "liaison") and key == 0):
        return None
    if dimension == "channel":
        return Channel(key).value
    return int(key)


def _from_rollup(
    flt: StatsFilter,
    dimension: Dimension | None,
    months: list[date],
    channels: Sequence[Channel] | None = None,
) -> dict[Any, Figures]:
    cells = StatsCell.__table__.c
    sums = [func.coalesce(func.sum(cells[name]), 0).label(name) for name in ROLLED_COUNTERS]
    where: list[ColumnElement[bool]] = [cells.month >= months[0], cells.month <= months[-1]]
    for column, value in (
        (cells.street_id, flt.street_id),
        (cells.building_id, flt.building_id),
        (cells.category_id, flt.category_id),
        (cells.liaison_id, flt.liaison_id),
    ):
        if value is not None:
            where.append(column == value)
    if flt.channel is not None:
        where.append(cells.channel == Channel(flt.channel).value)
    if channels is not None:
        where.append(cells.channel.in_([c.value for c in channels]))
    if dimension is None and channels is None:
        row = db.session.execute(select(*sums).where(*where)).one()
        counts = dict(zip(ROLLED_COUNTERS, row, strict=True))
        return {_ALL: figures_from_counts(counts)} if counts["total"] else {}
    key_columns: dict[str, Any] = {
        "month": cells.month,
        "category": cells.category_id,
        "street": cells.street_id,
        "building": cells.building_id,
        "channel": cells.channel,
        "liaison": cells.liaison_id,
    }
    keys = [] if dimension is None else [key_columns[dimension]]
    if channels is not None:
        keys.append(cells.channel)
    index_of = {m: i for i, m in enumerate(_month_starts(flt.start, flt.end))}
    out: dict[Any, Figures] = {}
    for row in db.session.execute(select(*keys, *sums).where(*where).group_by(*keys)).all():
        counts = dict(zip(ROLLED_COUNTERS, row[len(keys) :], strict=True))
        if not counts["total"]:
            continue
        cell_key: Any = _ALL
        if dimension == "month":
            month = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
            cell_key = index_of[month]
        elif dimension is not None:
            cell_key = _normal_key(dimension, row[0])
        if channels is not None:
            cell_key = (cell_key, Channel(row[len(keys) - 1]).value)
        out[cell_key] = figures_from_counts(counts)
    return out


def _dimension_key(flt: StatsFilter, dimension: Dimension) -> ColumnElement[Any]:
    if dimension == "month":
        # The local month of created_at, as an index into the period's months; the bounds are computed here
        # in Python, so the expression is the same on SQLite and PostgreSQL (no time zone functions).
        months = _month_starts(flt.start, flt.end)
        whens = [(Ticket.created_at < _local_midnight(m), i - 1) for i, m in enumerate(months) if i > 0]
        if not whens:
            return literal(0)
        return case(*whens, else_=len(months) - 1)
    columns: dict[str, Any] = {
        "category": Ticket.category_id,
        "street": Ticket.street_id,
        "building": Ticket.building_id,
        "channel": Ticket.channel,
        "liaison": Ticket.assignee_id,
    }
    column: ColumnElement[Any] = columns[dimension]
    return column


def _locale() -> str:
    if not has_app_context():
        return "zh"
    return str(get_locale() or "zh")


def _rows(flt: StatsFilter, dimension: Dimension, counts: dict[Any, Figures]) -> list[BreakdownRow]:
    """Label and order the cells of one breakdown."""
    if dimension == "month":
        return [
            BreakdownRow(key=f"{m:%Y-%m}", label=f"{m:%Y-%m}", figures=counts.get(i) or finish(Figures()))
            for i, m in enumerate(_month_starts(flt.start, flt.end))
        ]
    if dimension == "channel":
        by_value = {Channel(k).value if k is not None else NONE_KEY: v for k, v in counts.items()}
        return [
            BreakdownRow(key=c.value, label=str(CHANNEL_LABELS[c]), figures=by_value[c.value])
            for c in Channel
            if c.value in by_value
        ]
    ids = [k for k in counts if k is not None]
    english = _locale() == "en"
    labelled: list[tuple[Any, str, str]] = []  # (sort key, key, label)
    if dimension == "category":
        for cat in db.session.scalars(select(Category).where(Category.id.in_(ids))):
            label = cat.name_en if english and cat.name_en else cat.name
            labelled.append(((cat.sort_order, cat.id), cat.code, label))
            counts[cat.code] = counts[cat.id]
        return [BreakdownRow(key=k, label=label, figures=counts[k]) for _s, k, label in sorted(labelled)]
    model: Any = {"street": Street, "building": Building, "liaison": User}[dimension]
    for obj in db.session.scalars(select(model).where(model.id.in_(ids))):
        labelled.append(((obj.name, obj.id), str(obj.id), obj.name))
    rows = [BreakdownRow(key=k, label=label, figures=counts[int(k)]) for _s, k, label in sorted(labelled)]
    if None in counts:
        rows.append(BreakdownRow(key=NONE_KEY, label=_none_label(dimension), figures=counts[None]))
    return rows


def _none_label(dimension: Dimension) -> str:
    return _("No street") if dimension == "street" else _("Unassigned")


def labels_in_both(dimension: Dimension, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The Chinese and the English label of each breakdown row key of ``dimension`` (as :func:`breakdown`
    gives them): what a frozen report keeps, so that every reader sees its own language whoever froze it.

    A category, street, building: its name and its English name (the Chinese one when it has none); a
    channel, "none": the label in each language; a month or a liaison: the one label, twice.  Keys of rows
    no longer found are left out.
    """
    wanted = [str(key) for key in keys]

    def each_language(text: Any) -> tuple[str, str]:
        labels = []
        for language in ("zh", "en"):
            with force_locale(language):
                labels.append(str(text()))
        return labels[0], labels[1]

    out: dict[str, tuple[str, str]] = {}
    if dimension == "month":
        return {key: (key, key) for key in wanted}
    if dimension == "channel":
        channels = {c.value: c for c in Channel}
        for key in wanted:
            if key in channels:
                out[key] = each_language(lambda c=channels[key]: CHANNEL_LABELS[c])
        return out
    if dimension == "category":
        for cat in db.session.scalars(select(Category).where(Category.code.in_(wanted))):
            out[cat.code] = (cat.name, cat.name_en or cat.name)
        return out
    if NONE_KEY in wanted:
        out[NONE_KEY] = each_language(lambda: _none_label(dimension))
    ids = [int(key) for key in wanted if key.isdigit()]
    model: Any = {"street": Street, "building": Building, "liaison": User}[dimension]
    for obj in db.session.scalars(select(model).where(model.id.in_(ids))):
        name_en = getattr(obj, "name_en", "") or obj.name
        out[str(obj.id)] = (obj.name, name_en)
    return out


def coverage(street_id: int | None = None, building_id: int | None = None) -> CoverageFigures:
    """楼宇覆盖率: active buildings whose primary liaison is there to take its requests (an active user with
    the liaison role, not on leave, with an active primary coverage), and the active buildings without one,
    by street and name, each with what covers it instead: an active deputy who is not on leave
    (``deputy_only``), or nobody (``uncovered``).

    Optionally narrowed to one street or one building (the dashboard's filters that concern buildings).
    """

    today = local_date(utcnow())

    def covering(role: CoverageRole) -> Any:
        return (
            select(Coverage.building_id)
            .join(User, User.id == Coverage.liaison_id)
            .where(
                Coverage.active.is_(True),
                Coverage.role == role,
                User.active.is_(True),
                User.present_on(today),  # not on leave, by its word or by the dates a manager set
                User.role == Role.LIAISON,
            )
        )

    rows = db.session.execute(
        select(
            Building.id,
            Building.name,
            Street.name,
            Building.id.in_(covering(CoverageRole.PRIMARY)),
            Building.id.in_(covering(CoverageRole.DEPUTY)),
        )
        .join(Street, Street.id == Building.street_id)
        .where(
            Building.active.is_(True),
            *([Building.street_id == street_id] if street_id is not None else []),
            *([Building.id == building_id] if building_id is not None else []),
        )
        .order_by(Street.name, Building.name)
    ).all()
    gaps = [
        (int(bid), str(name), str(street), DEPUTY_ONLY if deputy else UNCOVERED)
        for bid, name, street, primary, deputy in rows
        if not primary
    ]
    total = len(rows)
    covered = total - len(gaps)
    return CoverageFigures(buildings=total, covered=covered, rate=_rate(covered, total), gaps=gaps)


def tickets_behind(flt: StatsFilter, figure: FigureName, now: datetime) -> Select[Ticket]:
    """The requests counted in ``figure`` (ordered newest first), for drill-down lists and exports.

    ``satisfied`` lists satisfied *and* basically satisfied requests (the numerator of the satisfaction
    rate); ``resolved_late`` the resolved requests past their deadline.
    """
    conditions = filter_conditions(flt)
    if figure != "total":
        by_name = counter_conditions(now)
        if figure == "satisfied":
            conditions.append(
                Ticket.rating_score.in_((RatingScore.SATISFIED, RatingScore.BASICALLY_SATISFIED))
            )
        elif figure in by_name:
            conditions.append(by_name[figure])
        else:
            raise ValueError(f"no list behind figure {figure!r}")
    return select(Ticket).where(*conditions).order_by(Ticket.created_at.desc(), Ticket.id.desc())


def figure_count(figures: Figures, figure: FigureName) -> int:
    """How many requests :func:`tickets_behind` lists for ``figure``, from the figures already computed:
    the list and the number it explains are one definition (a test recounts every list to prove it)."""
    if figure == "satisfied":
        return figures.satisfied + figures.basically_satisfied
    return int(getattr(figures, figure))


# The API/JSON names of DESIGN §9 first, then the other counts.
API_FIELDS: tuple[str, ...] = (
    "total",
    "resolved",
    "closure_rate",
    "rated",
    "satisfaction_rate",
    "response_rate",
    "on_time_rate",
    "reopen_rate",
    "avg_handling_hours",
    "overdue_open",
    # issue 11: beside the satisfaction rate
    "first_rating_satisfaction_rate",
    "rating_rate",
    "rated_by_enterprise",
    "rated_by_followup",
    "rated_resolved",
    "unrated",
    "withdrawn",
    "reopened",
)


def as_dict(figures: Figures) -> dict[str, float | int | None]:
    """The API/JSON form: §9's names (total, resolved, closure_rate, rated, satisfaction_rate, response_rate,
    on_time_rate, reopen_rate, avg_handling_hours, overdue_open) plus the other counts."""
    out: dict[str, float | int | None] = {name: getattr(figures, name) for name in API_FIELDS}
    for f in fields(figures):
        if f.name not in out:
            out[f.name] = getattr(figures, f.name)
    out["resolved_late"] = figures.resolved_late
    return out
