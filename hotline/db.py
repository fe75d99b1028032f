"""Declarative base, the UTC datetime column type, ``utcnow``, and SQLite's settings for several processes.

The embedded default runs the web (two gunicorn workers), two Celery workers and beat on one SQLite file.
Every SQLite connection therefore gets write-ahead logging (readers never wait for the writer, nor it for
them) and ``synchronous=NORMAL`` (safe with WAL: a power cut may lose the last transactions, never corrupt
the file); the configuration gives it a 15 s busy timeout (``hotline.config``: a writer waits its turn
instead of failing at once with "database is locked"; one that still cannot write is answered 503 by
hotline.errors).  An in-memory database (the unit tests) keeps its own journal.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Integer,
    MetaData,
    TypeDecorator,
    bindparam,
    event,
    exc,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached, scoped_session

# Stable constraint names so that migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC
    and given its zone back on the way out.  Naive values are refused: they are always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@event.listens_for(Engine, "connect")
def _sqlite_settings(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")  # an in-memory database answers "memory" and stays so
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


# ------------------------------------------------------------------ checking connections before use

# A pooled connection back in use within this many seconds of its last use is not pinged first.
IDLE_PING_SECONDS = 5.0
_LAST_USED = "hotline_last_used"  # in a pool record's info: time.monotonic() of its last check-in


def ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while (``pool_pre_ping`` pings
    every checkout: a round trip on every page and call, about a tenth of filing a request).

    A connection idle for more than :data:`IDLE_PING_SECONDS` is pinged at checkout; a dead one is replaced
    (``DisconnectionError``: the pool connects anew).  One used a moment ago is taken as alive: if the
    database restarted within those seconds, the first statement on it fails, SQLAlchemy marks the pool's
    connections stale, and that one request is answered 503 "try again" (hotline.errors); the next get new
    connections.
    """

    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_LAST_USED] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last < IDLE_PING_SECONDS:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as error:  # the driver's own error, whatever its class: the connection is gone
            raise exc.DisconnectionError(str(error)) from error
        finally:
            with contextlib.suppress(Exception):
                cursor.close()

    event.listen(engine, "connect", connected)
    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


# ------------------------------------------------------------------ a flush of new rows in one statement


def flush_new_rows(session: Any) -> None:
    """Flush ``session``; on PostgreSQL, when all it holds are new rows, in one statement.

    ``Session.flush`` writes each new row with its own ``INSERT`` and waits for each (a request, its event
    and its outbox message: three round trips and the unit of work's bookkeeping, about a third of filing a
    request).  Here every pending row becomes one data-modifying ``WITH`` query (``WITH r1 AS (INSERT …
    RETURNING id), r2 AS (INSERT …) SELECT …``: the foreign keys are checked at the end of the statement),
    and the rows then join the session as if a flush had loaded them.  The session's flush events still
    run, around the statement, as they would around a flush (the statistics rollup, the outbox nudge).

    Anything else (an updated or deleted row, a row whose related row has no key yet, a primary key that
    is not a single integer, SQLite) goes through the ordinary ``Session.flush``.

    A statement given to :func:`with_the_next_flush` joins the one statement too (``… alsoN AS (UPDATE …)``),
    when its parameters can be made from the rows written.
    """
    if isinstance(session, scoped_session):
        session = session()
    rows = _new_rows_at_once(session)
    if rows is None:
        session.flush()
        return
    session.dispatch.before_flush(session, None, None)
    if session.dirty or session.deleted or set(session.new) != set(rows):  # a listener changed something
        session.flush()
        return
    riders, riders_values = [], {}
    for rider in session.info.get(_RIDERS, ()):
        values = None if rider.taken else rider.parameters(rows)
        if values is not None:
            riders.append(rider)
            riders_values.update(values)
    statement, parameters, returned = _insert_statement(rows, tuple(r.statement for r in riders))
    parameters.update(riders_values)
    keys = session.connection().execute(statement, parameters).one()  # a plain statement: no ORM layer
    for rider in riders:
        rider.taken = True
    keys = keys if returned else ()
    for row, key in zip(returned, keys, strict=True):
        mapper = inspect(row).mapper
        setattr(row, mapper.primary_key[0].key, key)
    session.dispatch.after_flush(session, None)
    for row in rows:
        if row in session:  # an expunge cascading from another row may have taken it already
            session.expunge(row)
    for row in rows:
        make_transient_to_detached(row)
    for row in rows:
        session.add(row)
    session.dispatch.after_flush_postexec(session, None)


_RIDERS = "hotline_with_the_next_flush"  # in Session.info: the riders waiting for a one-statement flush


@dataclass(eq=False)
class Rider:
    """A statement to run within the next one-statement flush it fits (:func:`with_the_next_flush`)."""

    statement: Any  # an UPDATE (or INSERT) without RETURNING, its bind parameters named apart from the rows'
    parameters: Callable[[list[Any]], dict[str, Any] | None]  # from the new rows; None: not with these
    taken: bool = False  # run, within a flush's statement


@contextlib.contextmanager
def with_the_next_flush(
    session: Any, statement: Any, parameters: Callable[[list[Any]], dict[str, Any] | None]
) -> Iterator[Rider]:
    """Within the block, let the next :func:`flush_new_rows` that writes in one statement run ``statement``
    in it too, with the parameters ``parameters`` makes from the new rows (it may read them: their keys and
    defaults are filled in; None leaves the rider for a later flush).  One round trip less than running it
    after the flush.

    The rider is ``taken`` once its flush ran it; a block left without (SQLite, an ordinary flush, a
    refusal) runs nothing of it: the caller then runs the statement itself if it still must.
    """
    if isinstance(session, scoped_session):
        session = session()
    rider = Rider(statement, parameters)
    riders: list[Rider] = session.info.setdefault(_RIDERS, [])
    riders.append(rider)
    try:
        yield rider
    finally:
        riders.remove(rider)


def _new_rows_at_once(session: Any) -> list[Any] | None:
    """The pending rows in the order their tables depend on each other, their foreign keys filled in from
    the related rows and every column given (defaults applied); None when they cannot be written at once."""
    if session.get_bind().dialect.name != "postgresql" or session.dirty or session.deleted:
        return None
    rows = list(session.new)
    if not rows:
        return None
    order = _table_order()
    for row in rows:
        mapper = inspect(row).mapper
        if mapper.local_table not in order or mapper.inherits is not None or len(mapper.primary_key) != 1:
            return None
    rows.sort(key=lambda r: order[inspect(r).mapper.local_table])
    for row in rows:
        if not _fill_columns(row):
            return None
    return rows


@functools.cache
def _table_order() -> dict[Any, int]:
    """Each table's place in the order of their foreign keys (computed once: the models do not change)."""
    return {table: i for i, table in enumerate(Base.metadata.sorted_tables)}


def _fill_columns(row: Any) -> bool:
    state = inspect(row)
    mapper = state.mapper
    for relationship in mapper.relationships:
        if relationship.direction.name != "MANYTOONE" or relationship.key not in state.dict:
            continue
        related = state.dict[relationship.key]
        for local, remote in relationship.local_remote_pairs:
            value = None if related is None else getattr(related, _attribute_of(related, remote))
            if related is not None and value is None:
                return False  # the related row has no key yet
            setattr(row, _attribute_of(row, local), value)
    for attribute in mapper.column_attrs:
        column = attribute.columns[0]
        if attribute.key in state.dict:
            continue
        if column.primary_key:
            if not isinstance(column.type, Integer) or column.server_default is not None:
                return False
            continue
        default = column.default
        if default is None:
            if column.server_default is not None:
                return False  # the database would fill it in: read back by a flush, not guessed here
            setattr(row, attribute.key, None)
        elif default.is_scalar:
            setattr(row, attribute.key, default.arg)
        elif default.is_callable:
            setattr(row, attribute.key, default.arg(None))
        else:
            return False
    return True


def _attribute_of(row: Any, column: Any) -> str:
    return str(inspect(row).mapper.get_property_by_column(column).key)


def _insert_statement(rows: list[Any], riders: tuple[Any, ...] = ()) -> tuple[Any, dict[str, Any], list[Any]]:
    """The one statement writing ``rows`` (and running the ``riders``' statements), its parameters, and the
    rows whose primary key it returns (in its columns' order).  Statements are kept by shape (the tables and
    columns written, the riders): SQLAlchemy then finds their compiled form in its cache instead of building
    the query again for every filing."""
    shape, parameters, returned = [], {}, []
    for i, row in enumerate(rows):
        state = inspect(row)
        mapper = state.mapper
        key = mapper.primary_key[0]
        columns = []
        for attribute in mapper.column_attrs:
            column = attribute.columns[0]
            if attribute.key not in state.dict:
                continue
            value = state.dict[attribute.key]
            if value is None and (column is key or _null_when_left_out(column)):
                # left out, as the ORM's flush leaves it out: the database stores NULL, as the row holds;
                # fewer parameters also keep the statement within what the driver caches the parsing of
                # (psycopg: at most 50 parameters; past that every filing parses it again)
                continue
            columns.append(column.key)
            parameters[f"r{i}_{column.key}"] = value
        returns = key.key not in columns
        if returns:
            returned.append(row)
        shape.append((mapper.local_table, tuple(columns), returns))
    signature = (tuple(shape), riders)
    statement = _STATEMENTS.get(signature)
    if statement is None:
        statement = _build_insert_statement(signature)
        if len(_STATEMENTS) < 64:
            _STATEMENTS[signature] = statement
    return statement, parameters, returned


_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _null_when_left_out(column: Any) -> bool:
    """Whether leaving ``column`` out of an INSERT stores the NULL that None stands for: no server default
    would fill it, and its type sends None as SQL NULL (a JSON column sends it as JSON ``null``)."""
    return column.server_default is None and not column.type.should_evaluate_none


def _build_insert_statement(signature: tuple[Any, ...]) -> Any:
    shape, riders = signature
    ctes, keys = [], []
    for i, (table, columns, returns) in enumerate(shape):
        values = {name: bindparam(f"r{i}_{name}", type_=table.c[name].type) for name in columns}
        statement = insert(table).values(values)
        if returns:
            statement = statement.returning(table.primary_key.columns[0])
        cte = statement.cte(f"row{i}")
        ctes.append(cte)
        if returns:
            keys.append(select(cte.c[0]).scalar_subquery())
    ctes.extend(rider.cte(f"also{j}") for j, rider in enumerate(riders))
    query = select(*keys) if keys else select(literal(1))
    return query.add_cte(*ctes)
