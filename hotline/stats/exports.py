"""Excel and CSV files of the figures and of the requests behind them (issue 4, item 4).

Pure builders: the views fetch the figures and the requests, these functions turn them into tables and the
tables into files.  Every table goes through one writer per format, so every text cell is neutralised the same
way: a text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so that
neither Excel nor LibreOffice runs it as a formula (FACTS.md: openpyxl stores such a string as a formula).
Numbers are never touched: a negative count stays a number.

Times are shown in Asia/Shanghai: Excel cells hold real dates (naive local time, Excel has no time zones);
CSV cells hold ``YYYY-MM-DD HH:MM``.  A rate whose denominator is 0 is written "—", never 0 % or 100 %.

Long lists (issue 9, point 5) are read by :func:`keyset_batches`, a short query per 2,000 rows, and written
as they arrive: the CSV straight into the response, the workbook into a temporary file (openpyxl's
write-only mode writes each row to disk, with inline strings: no table of strings grows in memory), which the
response then streams.  So memory stays flat whatever the length; what bounds a download is time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any, Protocol
from urllib.parse import quote

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import ColumnElement, Row, Select
from sqlalchemy.orm import InstrumentedAttribute

from hotline.auth.labels import ROLE_LABELS
from hotline.auth.models import Role
from hotline.extensions import db
from hotline.routing.labels import describe, rule_label
from hotline.stats.labels import LIST_LABELS
from hotline.stats.queries import DIMENSIONS, BreakdownRow, Dimension, FigureName, Figures, StatsFilter
from hotline.stats.rates import format_rate, shown_fraction
from hotline.tickets.labels import (
    CHANNEL_LABELS,
    EVENT_LABELS,
    OUTCOME_LABELS,
    RATING_SOURCE_LABELS,
    SCORE_LABELS,
    URGENCY_LABELS,
    state_label,
)
from hotline.tickets.models import Channel, EventKind, RatingScore, RatingSource, TicketState, Urgency
from hotline.timeutil import local

# The longest lists a download holds.  Memory no longer bounds them: rows are read in keyset batches and
# written as they come (the workbook through a temporary file); `python -m bench.exports` measured a flat
# peak RSS of 148 MiB (what the app itself takes) for 100,000 rows of Excel and for 192,034 rows of CSV, so
# Excel's own limit (1,048,575 rows under the header) would fit in memory.  Time bounds them: a sync web
# worker must answer within gunicorn's 30 s timeout.  Measured (2 cores, load 5-8 from other work, 200,000
# requests in PostgreSQL): openpyxl with lxml 560-710 rows/s (100,000 rows: 141 s; 2,000-3,000 on a quiet
# machine in issue 4); the CSV 3,800 rows/s over HTTP, 5,100 built alone (quiet, issue 4: ~25,000).  At
# Excel's limit a workbook would take 6 to 25 minutes, so the caps stay where a quiet machine builds the file
# in ~15 s; a longer list needs a narrower filter (or, later, a file built by a worker, fetched when ready).
MAX_XLSX_ROWS = 30_000
MAX_CSV_ROWS = 300_000

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"

MISSING = "—"  # a rate with a 0 denominator, an average over nothing
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
HOURS_FORMAT = "0.0"
SHEET_TITLE_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})

CHANNELS = frozenset(c.value for c in Channel)
CSV_TABLES: tuple[str, ...] = ("summary", *DIMENSIONS)

DIMENSION_LABELS = {
    "month": _l("Month"),
    "category": _l("Category"),
    "street": _l("Street"),
    "building": _l("Building"),
    "channel": _l("Channel"),
    "liaison": _l("Liaison"),
}
SHEET_TITLES = {
    "summary": _l("Summary"),
    "month": _l("By month"),
    "category": _l("By category"),
    "street": _l("By street"),
    "building": _l("By building"),
    "channel": _l("By channel"),
    "liaison": _l("By liaison"),
}

# The figures of DESIGN §7 in the order a reader expects them, each with its kind of value.
FIGURE_LABELS = {
    "total": _l("Requests received"),
    "resolved": _l("Requests resolved"),
    "closure_rate": _l("Closure rate"),
    "rated": _l("Rated requests"),
    "satisfied": _l("Satisfied"),
    "basically_satisfied": _l("Basically satisfied"),
    "dissatisfied": _l("Dissatisfied"),
    "satisfaction_rate": _l("Satisfaction rate"),
    # what the satisfaction rate leaves out or hides (issue 11)
    "rated_by_enterprise": _l("Rated by the enterprise online"),
    "rated_by_followup": _l("Rating recorded from a follow-up call"),
    "first_satisfied": _l("Satisfied at the first rating"),
    "first_rating_satisfaction_rate": _l("Satisfaction at the first rating"),
    "rated_resolved": _l("Resolved and rated"),
    "unrated": _l("Resolved, not rated"),
    "rating_rate": _l("Rating rate"),
    "withdrawn": _l("Withdrawn, not counted"),
    "acknowledged_on_time": _l("Acknowledged in time"),
    "acknowledged_late": _l("Acknowledged late"),
    "acknowledged_untimed": _l("Acknowledged, no deadline was set"),
    "unacknowledged_overdue": _l("Not acknowledged, past the deadline"),
    "returned_late": _l("Returned after the signing deadline"),
    "response_rate": _l("Response rate"),
    "resolved_on_time": _l("Resolved in time"),
    "resolved_late": _l("Resolved late"),
    "resolved_untimed": _l("Resolved, no deadline was set"),
    "on_time_rate": _l("On-time rate"),
    "reopened": _l("Reopened"),
    "reopen_rate": _l("Reopen rate"),
    "avg_handling_hours": _l("Average handling time (working hours)"),
    "overdue_open": _l("Open past the deadline"),
}
RATES = frozenset(
    {
        "closure_rate",
        "satisfaction_rate",
        "first_rating_satisfaction_rate",
        "rating_rate",
        "response_rate",
        "on_time_rate",
        "reopen_rate",
    }
)
HOURS = frozenset({"avg_handling_hours"})
# The columns of a breakdown sheet, after the dimension's own column.
BREAKDOWN_FIGURES = (
    "total",
    "resolved",
    "closure_rate",
    "rated",
    "satisfaction_rate",
    "first_rating_satisfaction_rate",
    "rating_rate",
    "response_rate",
    "on_time_rate",
    "reopen_rate",
    "avg_handling_hours",
    "overdue_open",
)


# --------------------------------------------------------------------------- values and tables


class TooManyRows(ValueError):
    """A table longer than an Excel file built in memory may hold (``MAX_XLSX_ROWS``)."""


@dataclass(frozen=True)
class Rate:
    """A rate in [0, 1], or None when its denominator is 0: a percentage cell, or "—"."""

    value: float | None


@dataclass(frozen=True)
class Hours:
    """Working hours, or None when there is nothing to average: a number with one decimal, or "—"."""

    value: float | None


Value = str | int | float | datetime | date | Rate | Hours | None


@dataclass
class Table:
    """One sheet of a workbook, or one CSV file: a title, the column headers and widths, the rows."""

    title: str
    headers: list[str]
    widths: list[int]
    rows: Iterable[Sequence[Value]] = field(default_factory=list)


def neutralise(text: str) -> str:
    """``text`` made safe for a spreadsheet cell: a leading ``'`` when it could start a formula."""
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def _local_naive(moment: datetime) -> datetime:
    """An aware time as the naive Asia/Shanghai time Excel shows (a naive one is taken as local already)."""
    if moment.tzinfo is None:
        return moment
    return local(moment).replace(tzinfo=None)


# --------------------------------------------------------------------------- the figures as tables


def _figure_value(figures: Figures, name: str) -> Value:
    value = getattr(figures, name)
    if name in RATES:
        return Rate(value)
    if name in HOURS:
        return Hours(value)
    return int(value)


def period_text(flt: StatsFilter) -> str:
    """The period as its first and last local days, both included."""
    last = flt.end - timedelta(days=1)
    return f"{flt.start.isoformat()} – {last.isoformat()}"


def summary_table(figures: Figures, flt: StatsFilter, filters: Sequence[tuple[str, str]] = ()) -> Table:
    """Every figure of the cohort, one per row, after the period and the filters that made the cohort.

    ``filters`` are (label, value) pairs already in the page's language, e.g. ("Street", "东湖街道").
    """
    rows: list[Sequence[Value]] = [(_("Period"), period_text(flt))]
    rows.extend((label, value) for label, value in filters)
    rows.extend((str(label), _figure_value(figures, name)) for name, label in FIGURE_LABELS.items())
    return Table(
        title=str(SHEET_TITLES["summary"]), headers=[_("Figure"), _("Value")], widths=[36, 28], rows=rows
    )


def _row_label(dimension: Dimension, row: BreakdownRow) -> str:
    if dimension == "channel" and row.key in CHANNELS:
        return str(CHANNEL_LABELS[Channel(row.key)])  # in the page's language, whatever the query gave
    return row.label


def breakdown_table(dimension: Dimension, rows: Sequence[BreakdownRow]) -> Table:
    """The figures per month / category / street / building / channel / liaison, a row each."""
    headers = [str(DIMENSION_LABELS[dimension]), *(str(FIGURE_LABELS[name]) for name in BREAKDOWN_FIGURES)]
    widths = [28, *(14 for _name in BREAKDOWN_FIGURES)]
    body = [
        (_row_label(dimension, row), *(_figure_value(row.figures, n) for n in BREAKDOWN_FIGURES))
        for row in rows
    ]
    return Table(title=str(SHEET_TITLES[dimension]), headers=headers, widths=widths, rows=body)


def figures_tables(
    figures: Figures,
    breakdowns: dict[Dimension, list[BreakdownRow]],
    flt: StatsFilter,
    filters: Sequence[tuple[str, str]] = (),
) -> list[Table]:
    """The summary sheet, then a sheet per breakdown (in the order of ``DIMENSIONS``)."""
    tables = [summary_table(figures, flt, filters)]
    tables.extend(breakdown_table(d, breakdowns[d]) for d in DIMENSIONS if d in breakdowns)
    return tables


# --------------------------------------------------------------------------- the requests as a table

REQUEST_COLUMNS: list[tuple[Any, int]] = [
    (_l("Number"), 18),
    (_l("Title"), 40),
    (_l("Created"), 17),
    (_l("Enterprise"), 30),
    (_l("Enterprise verified"), 10),
    (_l("Building"), 22),
    (_l("Street"), 16),
    (_l("Category"), 16),
    (_l("Channel"), 12),
    (_l("Urgency"), 10),
    (_l("State"), 16),
    (_l("Assignee"), 14),
    (_l("Acknowledged at"), 17),
    (_l("Resolved at"), 17),
    (_l("Acknowledge by"), 17),
    (_l("Resolve by"), 17),
    (_l("Rating"), 12),
    # the latest rating's provenance, and the first verdict (issue 11): who rated, how, when
    (_l("Rated by"), 10),
    (_l("Recorded by"), 14),
    (_l("Rated at"), 17),
    (_l("First rating"), 12),
    (_l("Times reopened"), 10),
    (_l("Handling time (working hours)"), 14),
]


class RequestRecord(Protocol):
    """What a request row is built from: one result row of the list's query (plain columns, no ORM objects,
    so that 100,000 of them load quickly).  ``street`` is the street stored on the request (the building's
    when it was filed), the one the figures count it under."""

    number: str
    title: str
    created_at: datetime
    enterprise: str
    enterprise_verified: bool
    building: str
    street: str | None
    category: str
    category_en: str
    channel: Channel
    urgency: Urgency
    state: TicketState
    assignee: str | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    acknowledge_due_at: datetime | None
    resolve_due_at: datetime | None
    rating_score: RatingScore | None
    rating_source: RatingSource | None
    rating_recorded_by: str | None  # the name of whoever recorded the latest rating
    rated_at: datetime | None
    first_rating_score: RatingScore | None
    reopen_count: int
    handling_minutes: int | None


class RowLabels:
    """The words of a request row in the page's language, translated once per file, not once per row (a
    gettext call costs more than the rest of the row; a list has up to ``MAX_XLSX_ROWS`` rows)."""

    def __init__(self) -> None:
        self.states = {state: state_label(state) for state in TicketState}
        self.channels = {channel: str(label) for channel, label in CHANNEL_LABELS.items()}
        self.urgencies = {urgency: str(label) for urgency, label in URGENCY_LABELS.items()}
        self.scores = {score: str(label) for score, label in SCORE_LABELS.items()}
        self.sources = {source: str(label) for source, label in RATING_SOURCE_LABELS.items()}
        self.english = str(get_locale() or "zh") == "en"
        # requests of enterprises nobody has verified yet are marked in every list (issue 10, point 4)
        self.verified = {True: _("Verified"), False: _("Not verified")}

    def category(self, record: RequestRecord) -> str:
        return record.category_en if self.english and record.category_en else record.category


def handling_hours(record: RequestRecord) -> float | None:
    """Working hours from submission to the latest resolution, as the figures average them; None while the
    request is not resolved (or the calendar lacked a year of the span)."""
    if record.handling_minutes is None or record.state not in (TicketState.RESOLVED, TicketState.CLOSED):
        return None
    return record.handling_minutes / 60


def request_row(record: RequestRecord, labels: RowLabels | None = None) -> list[Value]:
    """One request as a row of ``REQUEST_COLUMNS``."""
    words = labels or RowLabels()
    hours = handling_hours(record)
    return [
        record.number,
        record.title,
        record.created_at,
        record.enterprise,
        words.verified[bool(record.enterprise_verified)],
        record.building,
        record.street,
        words.category(record),
        words.channels[Channel(record.channel)],
        words.urgencies[Urgency(record.urgency)],
        words.states[TicketState(record.state)],
        record.assignee,
        record.acknowledged_at,
        record.resolved_at,
        record.acknowledge_due_at,
        record.resolve_due_at,
        words.scores[RatingScore(record.rating_score)] if record.rating_score is not None else None,
        words.sources[RatingSource(record.rating_source)] if record.rating_source is not None else None,
        record.rating_recorded_by,
        record.rated_at if record.rating_score is not None else None,
        words.scores[RatingScore(record.first_rating_score)]
        if record.first_rating_score is not None
        else None,
        record.reopen_count,
        None if hours is None else Hours(hours),
    ]


def requests_table(records: Iterable[RequestRecord], figure: FigureName = "total") -> Table:
    """The requests behind a figure, one row each; ``records`` may be a lazy stream."""
    labels = RowLabels()
    return Table(
        title=str(LIST_LABELS.get(figure, LIST_LABELS["total"])),
        headers=[str(label) for label, _width in REQUEST_COLUMNS],
        widths=[width for _label, width in REQUEST_COLUMNS],
        rows=(request_row(record, labels) for record in records),
    )


# --------------------------------------------------------------------------- every event as a table

EVENT_COLUMNS: list[tuple[Any, int]] = [
    (_l("Number"), 18),
    (_l("When it happened"), 17),
    (_l("Event"), 24),
    (_l("By"), 16),
    (_l("Role"), 12),
    (_l("Visibility"), 10),
    (_l("From state"), 16),
    (_l("To state"), 16),
    (_l("Details"), 50),
    (_l("Text"), 60),
]


class EventRecord(Protocol):
    """What an event row is built from: one result row of the events' query (plain columns)."""

    number: str
    created_at: datetime
    kind: EventKind
    actor_name: str | None
    actor_role: Role | None
    public: bool
    from_state: TicketState | None
    to_state: TicketState | None
    body: str
    payload: dict[str, Any] | None


class EventLabels:
    """The words of an event row in the page's language, translated once per file (see :class:`RowLabels`)."""

    def __init__(self) -> None:
        self.kinds = {kind: str(label) for kind, label in EVENT_LABELS.items()}
        self.states = {state: state_label(state) for state in TicketState}
        self.roles = {role: str(label) for role, label in ROLE_LABELS.items()}
        self.scores = {score.value: str(label) for score, label in SCORE_LABELS.items()}
        self.channels = {channel.value: str(label) for channel, label in CHANNEL_LABELS.items()}
        self.urgencies = {urgency.value: str(label) for urgency, label in URGENCY_LABELS.items()}
        self.outcomes = {outcome.value: str(label) for outcome, label in OUTCOME_LABELS.items()}
        self.public = {True: _("Public"), False: _("Internal")}
        self.system = _("System")


def _payload_time(value: Any) -> str:
    """A time the payload holds (ISO 8601, UTC) as the local ``YYYY-MM-DD HH:MM`` the cells show."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return _local_naive(moment).isoformat(" ", "minutes")


# How a rating event's payload says it came from a call: "followup_call" (issue 11), "phone_follow_up" before.
FOLLOWUP_VIAS = ("followup_call", "phone_follow_up")


def _followup_detail(p: dict[str, Any], words: EventLabels) -> str:
    """A follow-up call's payload in words: the attempt, its time, whom it reached and what they said."""
    parts = [_("Attempt %(n)s", n=p.get("attempt", "?"))]
    if p.get("called_at"):
        parts.append(_("called %(time)s", time=_payload_time(p["called_at"])))
    if p.get("reached"):
        parts.append(_("reached %(name)s", name=p.get("contact", "")))
        if p.get("outcome") in words.outcomes:
            parts.append(words.outcomes[p["outcome"]])
        if p.get("score") in words.scores:
            parts.append(words.scores[p["score"]])
    else:
        parts.append(_("nobody answered"))
        if p.get("note"):
            parts.append(str(p["note"]))
    return ", ".join(str(part) for part in parts)


def event_details(kind: EventKind, payload: dict[str, Any] | None, words: EventLabels) -> str:
    """The event's payload in words, as the timeline says it (the same messages), for staff: the routing
    rule and its reason, whom it went to, the score, the deadlines moved.  What no sentence covers is
    listed as ``key: value``."""
    p = dict(payload or {})
    parts: list[str] = []
    if kind == EventKind.ASSIGNED and p.get("assignee_name"):
        if p.get("method") == "handover" and p.get("previous_assignee_name"):
            parts.append(
                _(
                    "Handed over from %(previous)s to %(name)s, in progress",
                    previous=p["previous_assignee_name"],
                    name=p["assignee_name"],
                )
            )
        else:
            parts.append(_("To %(name)s", name=p["assignee_name"]))
        if p.get("method") in ("manual", "handover") and p.get("reason"):
            parts.append(str(p["reason"]))
    if kind in (EventKind.ASSIGNED, EventKind.POOLED) and p.get("rule"):
        parts.append(f"{rule_label(p['rule'])}: {describe(p.get('reason'))}")
    if kind in (EventKind.TRANSFERRED, EventKind.HANDED_BACK) and p.get("department_name"):
        parts.append(
            _("To %(name)s", name=p["department_name"])
            if kind == EventKind.TRANSFERRED
            else p["department_name"]
        )
    if kind == EventKind.RATED and p.get("score") in words.scores:
        parts.append(words.scores[p["score"]])
        if p.get("via") in FOLLOWUP_VIAS:
            parts.append(_("recorded from a follow-up call"))
    if kind == EventKind.CLOSED and p.get("unrated"):
        if p.get("followup_attempts"):
            parts.append(_("Closed unrated: %(n)d follow-up calls unanswered", n=p["followup_attempts"]))
        else:
            parts.append(_("Not rated within the rating window"))
    if kind == EventKind.FOLLOWUP_CALLED:
        parts.append(_followup_detail(p, words))
    if kind == EventKind.SUBMITTED:
        if p.get("channel") in words.channels:
            parts.append(words.channels[p["channel"]])
        if p.get("urgency") in words.urgencies:
            parts.append(words.urgencies[p["urgency"]])
    if p.get("old_due_at") or p.get("new_due_at"):
        parts.append(
            _(
                "Deadline %(old)s → %(new)s",
                old=_payload_time(p["old_due_at"]) if p.get("old_due_at") else MISSING,
                new=_payload_time(p["new_due_at"]) if p.get("new_due_at") else MISSING,
            )
        )
    if kind in (EventKind.WARNING, EventKind.OVERDUE, EventKind.ESCALATED, EventKind.EXTENSION_REQUESTED):
        if p.get("clock") == "acknowledge":
            parts.append(_("Acknowledgement clock"))
        elif p.get("clock") == "resolve":
            parts.append(_("Resolution clock"))
        if p.get("days"):
            parts.append(_("%(days)s working days more", days=p["days"]))
        if p.get("due_at"):
            parts.append(_("due %(time)s", time=_payload_time(p["due_at"])))
    return "; ".join(str(part) for part in parts if part)


def event_row(record: EventRecord, labels: EventLabels | None = None) -> list[Value]:
    """One event as a row of ``EVENT_COLUMNS``."""
    words = labels or EventLabels()
    kind = EventKind(record.kind)
    return [
        record.number,
        record.created_at,
        words.kinds.get(kind, kind.value),
        record.actor_name or words.system,
        words.roles[Role(record.actor_role)] if record.actor_role is not None else "",
        words.public[bool(record.public)],
        words.states[TicketState(record.from_state)] if record.from_state is not None else None,
        words.states[TicketState(record.to_state)] if record.to_state is not None else None,
        event_details(kind, record.payload, words),
        record.body or "",
    ]


def events_table(records: Iterable[EventRecord]) -> Table:
    """Every event of the requests, one row each; ``records`` may be a lazy stream."""
    labels = EventLabels()
    return Table(
        title=_("Events"),
        headers=[str(label) for label, _width in EVENT_COLUMNS],
        widths=[width for _label, width in EVENT_COLUMNS],
        rows=(event_row(record, labels) for record in records),
    )


# --------------------------------------------------------------------------- reading a long list

# Rows per query of :func:`keyset_batches`: large enough that the round trips cost little next to building
# the rows (bench/exports.py), small enough that a batch of plain rows is a few hundred kB.
BATCH_ROWS = 2_000


def keyset_batches(
    statement: Select[Any], key: ColumnElement[int] | InstrumentedAttribute[int], size: int | None = None
) -> Iterator[Row[Any]]:
    """Every row of ``statement``, highest ``key`` first, read ``size`` rows (default ``BATCH_ROWS``) per
    query by keyset (``key < the last key seen``: a batch costs the same at the end of the list as at its
    start, where an OFFSET would read everything before it again).

    ``key`` must be unique and among the columns ``statement`` selects; the statement's own order is
    replaced by ``key`` descending.  Each batch is read in a session of its own that is closed before its
    rows are handed on: no cursor and no transaction outlives a batch, so a response can go on streaming after
    the request's session has ended (a psycopg server-side cursor dies with its transaction, FACTS.md:
    ``InvalidCursorName``), and a download of many minutes holds no transaction open.  What is committed
    meanwhile is seen by the batches still to come: a request filed after the first batch (a higher key) is
    not in the list, and no row is ever given twice.
    """
    size = size or BATCH_ROWS
    ordered = statement.order_by(None).order_by(key.desc()).limit(size)
    last: int | None = None
    while True:
        batch = ordered if last is None else ordered.where(key < last)
        with db.session.session_factory() as session:
            rows = session.execute(batch).all()
        yield from rows
        if len(rows) < size:
            return
        last = rows[-1]._mapping[key]


# --------------------------------------------------------------------------- Excel


def sheet_title(title: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    base = title.translate(SHEET_TITLE_FORBIDDEN).strip("'")[:31] or "Sheet"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Value) -> WriteOnlyCell | int | float | None:
    if isinstance(value, Rate | Hours):
        if value.value is None:
            return _xlsx_text(sheet, MISSING)
        # a rate's cell holds the value shown (0.999 for 99.95 %): "0.0%" would round it up to 100.0 %
        shown = shown_fraction(value.value) if isinstance(value, Rate) else value.value
        cell = WriteOnlyCell(sheet, value=shown)
        cell.number_format = PERCENT_FORMAT if isinstance(value, Rate) else HOURS_FORMAT
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=_local_naive(value))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, str):
        return _xlsx_text(sheet, value)
    return value  # a number or None (an empty cell): openpyxl writes them as they are


def _xlsx_text(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    # openpyxl refuses control characters; Excel cannot hold them either.
    cell = WriteOnlyCell(sheet, value=neutralise(ILLEGAL_CHARACTERS_RE.sub("", text)))
    cell.data_type = "s"  # a string, never a formula, whatever openpyxl guessed
    return cell


def write_xlsx(tables: Sequence[Table]) -> bytes:
    """The workbook of :func:`save_xlsx`, as bytes (for the small files: the figures)."""
    buffer = io.BytesIO()
    save_xlsx(tables, buffer)
    return buffer.getvalue()


def save_xlsx(tables: Sequence[Table], target: IO[bytes]) -> None:
    """A workbook with a sheet per table, written to ``target``: bold header row, frozen below the header,
    sized columns.  Rows go to disk as they come (write-only mode), so a long lazy table never sits in memory.

    Raises :class:`TooManyRows` on a table with more than ``MAX_XLSX_ROWS`` rows.
    """
    book = Workbook(write_only=True)
    taken: set[str] = set()
    bold = Font(bold=True)
    wrap = Alignment(vertical="center")
    try:
        for table in tables:
            sheet = book.create_sheet(sheet_title(table.title, taken))
            for index, width in enumerate(table.widths, start=1):
                sheet.column_dimensions[get_column_letter(index)].width = width
            sheet.freeze_panes = "A2"
            header = []
            for text in table.headers:
                cell = _xlsx_text(sheet, text)
                cell.font = bold
                cell.alignment = wrap
                header.append(cell)
            sheet.append(header)
            limit = MAX_XLSX_ROWS  # read once: a test lowers it
            for count, row in enumerate(table.rows, start=1):
                if count > limit:
                    raise TooManyRows(f"more than {limit} rows")
                sheet.append([_xlsx_cell(sheet, value) for value in row])
    except BaseException:
        for started in book.worksheets:  # each holds a temporary file: close and remove it now
            started.close()
            started._writer.cleanup()
        raise
    book.save(target)


# --------------------------------------------------------------------------- CSV


def _csv_text(value: Value) -> str | int | float:
    kind = type(value)  # the common exact types first: a long list converts ~20 cells a row
    if kind is str:
        return neutralise(value)  # type: ignore[arg-type]  # narrowed by the exact type
    if value is None:
        return ""
    if kind is int or kind is float:
        return value  # type: ignore[return-value]  # narrowed by the exact type
    if isinstance(value, datetime):
        # isoformat is C code and several times cheaper than strftime: "YYYY-MM-DD HH:MM".
        return _local_naive(value).isoformat(" ", "minutes")
    if isinstance(value, Rate):
        return format_rate(value.value)
    if isinstance(value, Hours):
        return MISSING if value.value is None else f"{value.value:.1f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return value


class _Line:
    """A file-like sink that keeps the last line ``csv.writer`` wrote."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text = text
        return len(text)


def iter_csv(table: Table) -> Iterator[bytes]:
    """The table as CSV bytes, a chunk at a time: UTF-8 with a BOM (so Excel reads Chinese), RFC 4180 quoting,
    CRLF line ends.  Lazy: a table whose rows are a stream is never held whole."""
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([_csv_text(h) for h in table.headers])
    chunk = ["\ufeff", line.text]
    for row in table.rows:
        writer.writerow([_csv_text(value) for value in row])
        chunk.append(line.text)
        if len(chunk) >= 500:
            yield "".join(chunk).encode("utf-8")
            chunk = []
    if chunk:
        yield "".join(chunk).encode("utf-8")


def write_csv(table: Table) -> bytes:
    """The whole table as one CSV file (see :func:`iter_csv`)."""
    return b"".join(iter_csv(table))


# --------------------------------------------------------------------------- download headers


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header naming ``filename`` (may be Chinese, RFC 5987 ``filename*``) with an ASCII
    ``fallback`` for clients that do not read ``filename*``."""
    # No path separators or characters Windows refuses in a file name, in either form.
    unsafe = '/\\:*?"<>|;'
    filename = "".join("_" if c in unsafe or ord(c) < 32 else c for c in filename)
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in unsafe else "_" for c in fallback)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
