"""Keeps :class:`~hotline.stats.models.StatsCell` — the monthly rollup of closed requests — exactly in step.

Maintained in the same transaction as the change, by two session hooks (:func:`install`, called by the
feature's ``init_app``), whatever code path changes a request
(a service, a worker sweep, the demo, a test adjusting a row):

- ``before_flush``: every request about to be updated or deleted whose row in the database is *closed* has its
  contribution taken out of its cell, computed by SQL from the row as it still is;
- ``after_flush``: every request inserted or updated that is *now* closed has its contribution added, computed
  by SQL from the row as written.

Both are one ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE SET x = x + excluded.x`` over the requests
concerned, with the same counter expressions as the live queries
(:func:`hotline.stats.queries.counter_expressions`), so the rollup and a recount cannot disagree on a
definition.  The upsert locks the cells it touches until commit, so two transactions closing requests of one
cell serialise instead of losing an update; cells are written in key order, so two of them cannot deadlock
on each other.

Bulk SQL (``session.execute(update(Ticket)…)``) bypasses the hooks: code that rewrites closed requests in bulk
must call :func:`rebuild` in its transaction (nothing does today).  :func:`drift` compares the rollup with a
recount and is what an operator (or a test) runs to prove it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, and_, delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from hotline.stats.models import StatsCell
from hotline.stats.queries import ROLLED_COUNTERS, counter_expressions
from hotline.tickets.models import Ticket, TicketState

KEY_COLUMNS = ("month", "street_id", "building_id", "category_id", "channel", "liaison_id")


class local_month(FunctionElement[date]):
    """The first day of the Asia/Shanghai month of a UTC timestamp, as a date."""

    type = Date()
    inherit_cache = True


@compiles(local_month)
def _local_month_postgresql(element: local_month, compiler: SQLCompiler, **kw: Any) -> str:
    (argument,) = element.clauses
    moment = compiler.process(argument, **kw)
    return f"CAST(date_trunc('month', {moment} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


@compiles(local_month, "sqlite")
def _local_month_sqlite(element: local_month, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text; Shanghai has had a fixed +8 offset (no daylight saving) since 1991.
    (argument,) = element.clauses
    return f"date({compiler.process(argument, **kw)}, '+8 hours', 'start of month')"


class local_day(FunctionElement[date]):
    """The Asia/Shanghai day of a UTC timestamp, as a date (:func:`hotline.timeutil.local_date` in SQL)."""

    type = Date()
    inherit_cache = True


@compiles(local_day)
def _local_day_postgresql(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    (argument,) = element.clauses
    return f"CAST(({compiler.process(argument, **kw)} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    (argument,) = element.clauses  # naive UTC text, a fixed +8 offset (see local_month)
    return f"date({compiler.process(argument, **kw)}, '+8 hours')"


def _cells_of(ticket_ids: list[int] | None, sign: int) -> Select[Any]:
    """The closed requests among ``ticket_ids`` (all of them when None), summed per cell, times ``sign``."""
    month = local_month(Ticket.created_at)
    street = func.coalesce(Ticket.street_id, 0)
    liaison = func.coalesce(Ticket.assignee_id, 0)
    counters = counter_expressions(None, ROLLED_COUNTERS)
    columns: list[Any] = [
        month.label("month"),
        street.label("street_id"),
        Ticket.building_id.label("building_id"),
        Ticket.category_id.label("category_id"),
        Ticket.channel.label("channel"),
        liaison.label("liaison_id"),
        *[(counters[name] * sign).label(name) for name in ROLLED_COUNTERS],
    ]
    conditions = [Ticket.state == TicketState.CLOSED]
    if ticket_ids is not None:
        conditions.append(Ticket.id.in_(ticket_ids))
    keys: list[Any] = [month, street, Ticket.building_id, Ticket.category_id, Ticket.channel, liaison]
    return select(*columns).where(and_(*conditions)).group_by(*keys).order_by(*keys)


def _upsert(connection: Connection, rows: Select[Any]) -> None:
    table = StatsCell.__table__
    names = [*KEY_COLUMNS, *ROLLED_COUNTERS]
    insert: Any = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).from_select(names, rows)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in KEY_COLUMNS],
        set_={name: table.c[name] + statement.excluded[name] for name in ROLLED_COUNTERS},
    )
    connection.execute(statement)


def apply(connection: Connection, ticket_ids: list[int], sign: int) -> None:
    """Add (``sign=1``) or take out (``-1``) the contribution of the closed requests among ``ticket_ids``."""
    if ticket_ids:
        _upsert(connection, _cells_of(sorted(set(ticket_ids)), sign))


def rebuild(connection: Connection) -> None:
    """Recompute every cell from ``tickets`` (after a bulk load or a bulk rewrite, and in the migration)."""
    connection.execute(delete(StatsCell))
    _upsert(connection, _cells_of(None, 1))


def drift(connection: Connection) -> list[dict[str, Any]]:
    """The cells where the rollup differs from a recount of the closed requests (empty when exact)."""
    recount = _cells_of(None, 1).subquery()
    stored = (
        select(*[StatsCell.__table__.c[name] for name in (*KEY_COLUMNS, *ROLLED_COUNTERS)])
        .where(StatsCell.total != 0)
        .subquery()
    )

    def rows(query: Any) -> dict[tuple[Any, ...], tuple[int, ...]]:
        out: dict[tuple[Any, ...], tuple[int, ...]] = {}
        for row in connection.execute(select(query)):
            key = (
                str(row.month),
                int(row.street_id),
                int(row.building_id),
                int(row.category_id),
                str(row.channel),
                int(row.liaison_id),
            )
            out[key] = tuple(int(getattr(row, name)) for name in ROLLED_COUNTERS)
        return out

    expected, actual = rows(recount), rows(stored)
    zero = tuple(0 for _ in ROLLED_COUNTERS)
    return [
        {"cell": key, "recount": expected.get(key, zero), "rollup": actual.get(key, zero)}
        for key in sorted(set(expected) | set(actual))
        if expected.get(key, zero) != actual.get(key, zero)
    ]


# --------------------------------------------------------------------------- the session hooks


SUSPENDED = "hotline_rollup_suspended"  # in Session.info


@contextmanager
def suspended(session: Session | scoped_session[Any]) -> Iterator[None]:
    """A bulk load (the demo district) in one transaction: the per-flush hooks stand aside while it runs,
    and every cell is rebuilt from ``tickets`` once at the end, in the same transaction (half the demo's
    time)."""
    session.info[SUSPENDED] = True
    try:
        yield
        session.flush()
    finally:
        session.info.pop(SUSPENDED, None)
    rebuild(session.connection())


def install() -> None:
    """Keep the rollup in step with every flush of every session (idempotent; ``stats.init_app`` calls it)."""
    if not event.contains(Session, "before_flush", _take_out):
        event.listen(Session, "before_flush", _take_out)
        event.listen(Session, "after_flush", _put_in)


def _take_out(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(SUSPENDED):
        return
    # Whether a request was closed is read from its stored row (``_cells_of`` filters on it), never from the
    # object in memory: that may be stale if another transaction closed the request meanwhile.
    leaving = [
        t.id
        for t in (*session.dirty, *session.deleted)
        if isinstance(t, Ticket) and t.id is not None and (t in session.deleted or session.is_modified(t))
    ]
    if leaving:
        apply(session.connection(), leaving, -1)


def _put_in(session: Session, flush_context: Any) -> None:
    if session.info.get(SUSPENDED):
        return
    arriving = [
        t.id
        for t in (*session.new, *session.dirty)
        if isinstance(t, Ticket)
        and t not in session.deleted
        and t.state == TicketState.CLOSED
        and (t in session.new or session.is_modified(t))
    ]
    if arriving:
        apply(session.connection(), arriving, 1)
