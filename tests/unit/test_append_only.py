"""Events and ratings are append-only in the database (DESIGN §4): UPDATE and DELETE are refused by triggers.

On SQLite, in the database ``create_all`` made for the test session (hotline/tickets/append_only.py hangs the
triggers on the tables).  Each refusal happens inside a savepoint, so the test's outer transaction goes on;
PostgreSQL and the migrations are covered by tests/integration/test_migrations.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, delete, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from hotline.extensions import db
from hotline.tickets import append_only
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Rating, RatingScore, Ticket, TicketEvent
from tests.factories import World

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 on a Tuesday in Shanghai
T1 = T0 + timedelta(hours=1)

# table → (model, a text column to change)
TABLES: dict[str, tuple[Any, str]] = {
    "ticket_events": (TicketEvent, "body"),
    "ratings": (Rating, "comment"),
}


@pytest.fixture
def rated(world: World) -> Ticket:
    """A request resolved and rated (closed): it has events and one rating, committed."""
    ticket = world.resolved(T0)
    tickets.rate(ticket.id, world.contact, "satisfied", "很满意", T1)
    db.session.commit()
    return ticket


def _row_id(table: str, ticket: Ticket) -> int:
    model, _ = TABLES[table]
    return int(db.session.scalar(select(func.min(model.id)).where(model.ticket_id == ticket.id)))


def _stored(table: str) -> list[tuple[Any, ...]]:
    """Every stored row of ``table``, read with SQL (never from the session's objects)."""
    return [tuple(row) for row in db.session.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def _orm_update(table: str, row_id: int) -> None:
    model, column = TABLES[table]
    row = db.session.get(model, row_id)
    setattr(row, column, "改写")
    db.session.flush()


def _orm_delete(table: str, row_id: int) -> None:
    model, _ = TABLES[table]
    db.session.delete(db.session.get(model, row_id))
    db.session.flush()


def _orm_bulk_update(table: str, row_id: int) -> None:
    model, column = TABLES[table]
    db.session.execute(update(model).where(model.id == row_id).values({column: "改写"}))


def _orm_bulk_delete(table: str, row_id: int) -> None:
    model, _ = TABLES[table]
    db.session.execute(delete(model).where(model.id == row_id))


def _sql_update(table: str, row_id: int) -> None:
    _, column = TABLES[table]
    db.session.execute(text(f"UPDATE {table} SET {column} = '改写' WHERE id = :id"), {"id": row_id})


def _sql_update_created_at(table: str, row_id: int) -> None:
    """Backdating, the likeliest tampering with an audit trail."""
    db.session.execute(
        text(f"UPDATE {table} SET created_at = '2020-01-01 00:00:00.000000' WHERE id = :id"), {"id": row_id}
    )


def _sql_delete(table: str, row_id: int) -> None:
    db.session.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": row_id})


def _sql_delete_all(table: str, row_id: int) -> None:
    db.session.execute(text(f"DELETE FROM {table}"))


CHANGES: dict[str, Callable[[str, int], None]] = {
    "orm update": _orm_update,
    "orm delete": _orm_delete,
    "orm bulk update": _orm_bulk_update,
    "orm bulk delete": _orm_bulk_delete,
    "sql update": _sql_update,
    "sql update created_at": _sql_update_created_at,
    "sql delete": _sql_delete,
    "sql delete all": _sql_delete_all,
}


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("table", TABLES)
def test_a_change_is_refused_naming_the_table_and_nothing_changes(
    rated: Ticket, world: World, table: str, change: str
) -> None:
    row_id = _row_id(table, rated)
    before = _stored(table)
    assert before

    with pytest.raises(IntegrityError, match=f"{table} is append-only"), db.session.begin_nested():
        CHANGES[change](table, row_id)

    assert _stored(table) == before
    # The ORM's objects are given the stored values back, not the refused ones.
    model, column = TABLES[table]
    row = db.session.get(model, row_id)
    assert row is not None
    assert getattr(row, column) != "改写"
    # The test's transaction goes on: appending still works.
    tickets.add_note(rated.id, world.manager, "回访记录已核对", T1)
    db.session.commit()
    after = _stored(table)
    assert after[: len(before)] == before
    assert len(after) == len(before) + (table == "ticket_events")


def test_appending_events_and_ratings_still_works(world: World) -> None:
    ticket = world.resolved(T0)
    events = len(_stored("ticket_events"))
    ratings = len(_stored("ratings"))

    tickets.rate(ticket.id, world.contact, "dissatisfied", "车位仍然不够", T1)  # reopens: two events
    db.session.commit()
    db.session.execute(
        text(
            "INSERT INTO ratings (ticket_id, score, comment, rated_by_id, created_at) "
            "VALUES (:ticket, 'satisfied', '', :user, '2026-03-10 04:00:00.000000')"
        ),
        {"ticket": ticket.id, "user": world.contact.id},
    )
    db.session.commit()

    assert len(_stored("ticket_events")) == events + 2
    assert len(_stored("ratings")) == ratings + 2
    kinds = db.session.scalars(
        select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc())
    ).all()
    assert kinds[:2] == [EventKind.REOPENED, EventKind.RATED]
    scores = db.session.scalars(select(Rating.score).where(Rating.ticket_id == ticket.id).order_by(Rating.id))
    assert list(scores) == [RatingScore.DISSATISFIED, RatingScore.SATISFIED]


def test_the_request_row_itself_stays_changeable(rated: Ticket) -> None:
    """Only the two tables are append-only: the request row keeps its latest state, deadlines and rating."""
    db.session.execute(update(Ticket).where(Ticket.id == rated.id).values(title="停车位不足（已更正）"))
    db.session.commit()
    assert db.session.scalar(select(Ticket.title).where(Ticket.id == rated.id)) == "停车位不足（已更正）"


def test_create_all_made_the_triggers(app: Flask) -> None:
    names = db.session.scalars(
        text(
            "SELECT name FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name IN ('ticket_events', 'ratings')"
        )
    ).all()
    assert sorted(names) == sorted(
        append_only.trigger_name(table, operation)
        for table in append_only.TABLES
        for operation in append_only.OPERATIONS
    )


def test_a_table_created_alone_is_append_only_and_installing_twice_adds_nothing() -> None:
    """``Table.create`` fires the same listeners as ``create_all``; a second ``install`` adds no second set
    (creating a trigger twice would fail)."""
    table = Rating.__table__
    append_only.install(table)
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            table.create(connection)  # SQLite does not check that the referenced tables exist
            assert {
                t
                for (t,) in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            } == {
                "trg_ratings_refuse_update",
                "trg_ratings_refuse_delete",
            }
            connection.execute(
                text(
                    "INSERT INTO ratings (ticket_id, score, comment, rated_by_id, created_at) "
                    "VALUES (1, 'satisfied', '', 1, '2026-03-10 04:00:00')"
                )
            )
        with pytest.raises(IntegrityError, match="ratings is append-only"), engine.begin() as connection:
            connection.execute(text("DELETE FROM ratings"))
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM ratings")) == 1
            assert inspect(connection).get_table_names() == ["ratings"]
    finally:
        engine.dispose()
