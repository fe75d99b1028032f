"""Downloads of the figures and of the requests behind them, for managers (issue 4, item 4).

The query string is the dashboard's filter (period, value, from, to, street, building, category, channel,
liaison), so the dashboard links here with the arguments it was given.

- ``/manage/exports/figures.xlsx``: the summary and a sheet per breakdown;
- ``/manage/exports/figures.csv?what=summary|month|category|street|building|channel|liaison``: one table;
- ``/manage/exports/requests.xlsx|csv?figure=total|resolved|…``: the requests counted in one figure;
- ``/manage/exports/events.xlsx|csv``: every event of every request created in the period (any state), for
  an audit of the figures (issue 11, point 6).

Every download is written in the audit log (who, which file, which filter, how many rows) before it starts.

The figures' workbook is small and built in memory.  A list of requests is read in keyset batches
(:func:`exports.keyset_batches`, each batch its own short read, so the stream does not depend on the
request's transaction: on PostgreSQL a server-side cursor died with it, issue 9 point 5); the CSV is streamed
as the rows come, the workbook is written to a temporary file that the response then streams and that is gone
when the response is closed.  Lists longer than ``MAX_XLSX_ROWS`` / ``MAX_CSV_ROWS`` are refused with a
message, so that no download outlasts the web worker's timeout.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

from flask import Blueprint, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import aliased
from werkzeug.wrappers import Response

from hotline.audit import services as audit
from hotline.audit.models import AuditAction
from hotline.auth.access import roles_required
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import Building, Enterprise, Street
from hotline.extensions import db
from hotline.stats import exports, queries
from hotline.stats.labels import FIGURES, LIST_LABELS
from hotline.stats.periods import describe
from hotline.stats.queries import Dimension, FigureName, StatsFilter
from hotline.stats.views import chosen_filters, read_filter
from hotline.tickets.models import Category, Rating, Ticket, TicketEvent
from hotline.web import perform

bp = Blueprint("stats_export", __name__, url_prefix="/manage/exports")


def _refuse(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("errors/error.html", code=status, title=message), status


def _download(body: bytes | object, mimetype: str, filename: str, fallback: str) -> Response:
    response = Response(body, content_type=mimetype)  # type: ignore[arg-type]
    response.headers["Content-Disposition"] = exports.content_disposition(filename, fallback)
    # Lists of enterprises and people: never kept by a shared cache or the browser's.
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- the filter


def _read_filter() -> tuple[StatsFilter, list[tuple[str, str]]] | str:
    """The dashboard's filter from the query string (parsed exactly as the dashboard parses it) and its
    choices as (label, value) pairs for the summary sheet; or the first error message."""
    flt = read_filter(request.args)
    if flt.stats is None:
        for errors in flt.form.errors.values():
            for message in errors if isinstance(errors, list) else []:
                return str(message)
        return _("This filter is not valid.")
    return flt.stats, chosen_filters(flt.form)


# --------------------------------------------------------------------------- downloads


@bp.get("/figures.<any(xlsx, csv):fmt>")
@roles_required(Role.MANAGER)
def figures(fmt: str) -> Response | tuple[str, int]:
    """The summary and the breakdowns: every sheet in Excel, the table named by ``what`` in CSV."""
    now = utcnow()
    parsed = _read_filter()
    if isinstance(parsed, str):
        return _refuse(parsed)
    flt, labels = parsed
    what = request.args.get("what") or "summary"
    if fmt == "csv" and what not in exports.CSV_TABLES:
        return _refuse(_("Choose what to export: the summary or one breakdown."))
    period = describe(flt.start, flt.end)
    _audited(f"figures.{fmt}", period, {"what": what} if fmt == "csv" else {})
    name = _("Figures")  # outside the f-string: pybabel does not extract a call inside one
    stem, fallback = f"{name}_{period}", f"figures_{period}"
    if fmt == "csv":
        if what == "summary":
            table = exports.summary_table(queries.summary(flt, now), flt, labels)
        else:
            dimension: Dimension = what  # type: ignore[assignment]  # checked against CSV_TABLES above
            table = exports.breakdown_table(dimension, queries.breakdown(flt, dimension, now))
        return _download(
            exports.write_csv(table),
            exports.CSV_MIME,
            f"{stem}_{exports.SHEET_TITLES[what]}.csv",
            f"{fallback}_{what}.csv",
        )
    breakdowns = {d: queries.breakdown(flt, d, now) for d in exports.DIMENSIONS}
    tables = exports.figures_tables(queries.summary(flt, now), breakdowns, flt, labels)
    return _download(exports.write_xlsx(tables), exports.XLSX_MIME, f"{stem}.xlsx", f"{fallback}.xlsx")


@bp.get("/requests.<any(xlsx, csv):fmt>")
@roles_required(Role.MANAGER)
def requests(fmt: str) -> Response | tuple[str, int]:
    """The requests counted in ``figure`` (default: every request of the cohort)."""
    now = utcnow()
    parsed = _read_filter()
    if isinstance(parsed, str):
        return _refuse(parsed)
    flt, _labels = parsed
    figure_arg = request.args.get("figure") or "total"
    if figure_arg not in FIGURES:
        return _refuse(_("This figure has no list of requests."))
    figure: FigureName = figure_arg  # narrowed by the check against FIGURES above
    query = queries.tickets_behind(flt, figure, now)
    label = LIST_LABELS.get(figure, figure)
    period = describe(flt.start, flt.end)
    stem, fallback = f"{label}_{period}", f"requests_{figure}_{period}"
    counting = select(func.count()).select_from(query.order_by(None).subquery())
    count = db.session.scalar(counting) or 0
    if fmt == "csv" and count > exports.MAX_CSV_ROWS:
        return _refuse(_too_many(count, exports.MAX_CSV_ROWS))
    if fmt == "xlsx" and count > exports.MAX_XLSX_ROWS:
        return _refuse(_too_many(count, exports.MAX_XLSX_ROWS, csv_fits=count <= exports.MAX_CSV_ROWS))
    _audited(f"requests.{fmt}", period, {"figure": figure, "rows": count})
    if fmt == "csv":
        table = exports.requests_table(request_records(query), figure)
        return _download(
            stream_with_context(exports.iter_csv(table)), exports.CSV_MIME, f"{stem}.csv", f"{fallback}.csv"
        )
    # Not a context manager: the response closes it once sent.  No name on disk: gone once closed.
    file = tempfile.TemporaryFile(prefix="hotline-export-", suffix=".xlsx")  # noqa: SIM115
    try:
        exports.save_xlsx([exports.requests_table(request_records(query), figure)], file)
    except exports.TooManyRows:  # requests were filed since the count
        file.close()
        return _refuse(_too_many(db.session.scalar(counting) or 0, exports.MAX_XLSX_ROWS))
    except BaseException:
        file.close()
        raise
    return _file_download(file, exports.XLSX_MIME, f"{stem}.xlsx", f"{fallback}.xlsx")


@bp.get("/events.<any(xlsx, csv):fmt>")
@roles_required(Role.MANAGER)
def events(fmt: str) -> Response | tuple[str, int]:
    """Every event of every request created in the period (the dashboard's filters; any state): number,
    time, kind, who (name, role), public or internal, the states, the payload in words and the text."""
    parsed = _read_filter()
    if isinstance(parsed, str):
        return _refuse(parsed)
    flt, _labels = parsed
    query = _event_records(flt)
    counting = select(func.count()).select_from(query.order_by(None).subquery())
    count = db.session.scalar(counting) or 0
    if fmt == "csv" and count > exports.MAX_CSV_ROWS:
        return _refuse(_too_many_events(count, exports.MAX_CSV_ROWS))
    if fmt == "xlsx" and count > exports.MAX_XLSX_ROWS:
        return _refuse(_too_many_events(count, exports.MAX_XLSX_ROWS))
    period = describe(flt.start, flt.end)
    _audited(f"events.{fmt}", period, {"rows": count})
    label = _("Events")  # outside the f-string: pybabel does not extract a call inside one
    stem, fallback = f"{label}_{period}", f"events_{period}"
    records = exports.keyset_batches(query, TicketEvent.id)
    if fmt == "csv":
        return _download(
            stream_with_context(exports.iter_csv(exports.events_table(records))),
            exports.CSV_MIME,
            f"{stem}.csv",
            f"{fallback}.csv",
        )
    file = tempfile.TemporaryFile(prefix="hotline-export-", suffix=".xlsx")  # noqa: SIM115  (as above)
    try:
        exports.save_xlsx([exports.events_table(records)], file)
    except exports.TooManyRows:  # events were written since the count
        file.close()
        return _refuse(_too_many_events(db.session.scalar(counting) or 0, exports.MAX_XLSX_ROWS))
    except BaseException:
        file.close()
        raise
    return _file_download(file, exports.XLSX_MIME, f"{stem}.xlsx", f"{fallback}.xlsx")


def _event_records(flt: StatsFilter) -> Select:
    """The columns of :class:`exports.EventRecord` for the events of the requests of ``flt``'s period."""
    actor = aliased(User)
    return (
        select(
            TicketEvent.id,  # the keyset of the batches
            Ticket.number,
            TicketEvent.created_at,
            TicketEvent.kind,
            actor.name.label("actor_name"),
            actor.role.label("actor_role"),
            TicketEvent.public,
            TicketEvent.from_state,
            TicketEvent.to_state,
            TicketEvent.body,
            TicketEvent.payload,
        )
        .select_from(TicketEvent)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .outerjoin(actor, actor.id == TicketEvent.actor_id)
        .where(*queries.period_conditions(flt))
    )


# The filter's arguments the audit log keeps (others are ignored by the export, so not worth keeping).
AUDITED_ARGS = ("period", "value", "from", "to", "street", "building", "category", "channel", "liaison")


def _audited(export: str, period: str, details: dict[str, Any]) -> None:
    """Write the download in the audit log (its own commit: the file is read-only work that follows)."""
    filters = {key: request.args.get(key, "")[:100] for key in AUDITED_ARGS if request.args.get(key)}
    now = utcnow()
    perform(
        lambda: audit.record(
            current_user,
            AuditAction.EXPORT_DOWNLOADED,
            f"{export} {period}",
            {"export": export, "period": period, "filters": filters, **details},
            now,
        )
    )


def _too_many_events(count: int, limit: int) -> str:
    return _(
        "This period has %(count)s events; a download holds at most %(limit)s. Narrow the period or the "
        "filters.",
        count=count,
        limit=limit,
    )


def request_records(query: Select[Ticket]) -> Iterator[Row[Any]]:
    """The rows of :class:`exports.RequestRecord` for the requests of ``query`` (same filter), newest first
    (by id: the order they were filed in), read in keyset batches."""
    return exports.keyset_batches(_request_records(query), Ticket.id)


def _file_download(file: IO[bytes], mimetype: str, filename: str, fallback: str) -> Response:
    """``file`` (just written) as the body, streamed a block at a time, with its length."""
    length = file.tell()
    file.seek(0)
    response = _download(_blocks(file), mimetype, filename, fallback)
    response.content_length = length
    return response


def _blocks(file: IO[bytes], size: int = 256 * 1024) -> Iterator[bytes]:
    """The file's content a block at a time; the file is closed (and so removed) once it is all read, or
    when the server closes the response early (a client that went away)."""
    try:
        while block := file.read(size):
            yield block
    finally:
        file.close()


def _request_records(query: Select[Ticket]) -> Select:
    """The columns of :class:`exports.RequestRecord` for the requests of ``query`` (same filter and order):
    plain values rather than ORM objects, which load several times faster."""
    street, assignee = aliased(Street), aliased(User)
    return (
        query.with_only_columns(
            Ticket.id,  # the keyset of the batches
            Ticket.number,
            Ticket.title,
            Ticket.created_at,
            Enterprise.name.label("enterprise"),
            Enterprise.verified_at.is_not(None).label("enterprise_verified"),
            Building.name.label("building"),
            street.name.label("street"),
            Category.name.label("category"),
            Category.name_en.label("category_en"),
            Ticket.channel,
            Ticket.urgency,
            Ticket.state,
            assignee.name.label("assignee"),
            Ticket.acknowledged_at,
            Ticket.resolved_at,
            Ticket.acknowledge_due_at,
            Ticket.resolve_due_at,
            Ticket.rating_score,
            Ticket.rating_source,
            _latest_recorder().label("rating_recorded_by"),
            Ticket.rated_at,
            Ticket.first_rating_score,
            Ticket.reopen_count,
            Ticket.handling_minutes,
        )
        .select_from(Ticket)
        .join(Enterprise, Enterprise.id == Ticket.enterprise_id)
        .join(Building, Building.id == Ticket.building_id)
        .join(Category, Category.id == Ticket.category_id)
        # The street stored on the request (the building's when it was filed): the one the figures use.
        .outerjoin(street, street.id == Ticket.street_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
    )


def _latest_recorder() -> Any:
    """The name of whoever recorded a request's latest rating (one lookup by ``ix_ratings_ticket_id``)."""
    recorder = aliased(User)
    return (
        select(recorder.name)
        .select_from(Rating)
        .join(recorder, recorder.id == Rating.rated_by_id)
        .where(Rating.ticket_id == Ticket.id)
        .order_by(Rating.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _too_many(count: int, limit: int, csv_fits: bool = False) -> str:
    if csv_fits:
        return _(
            "This list has %(count)s requests; an Excel file holds at most %(limit)s. "
            "Narrow the period or the filters, or download the CSV file.",
            count=count,
            limit=limit,
        )
    return _(
        "This list has %(count)s requests; a download holds at most %(limit)s. "
        "Narrow the period or the filters.",
        count=count,
        limit=limit,
    )
