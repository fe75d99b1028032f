"""Search on PostgreSQL (issue 9, point 4): pg_trgm builds trigrams of Chinese text in this cluster's locale,
and a search's query is served by the GIN indexes (trigram for 3+ characters, bigram for 2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text

from hotline import create_app
from hotline.auth.models import Role, User
from hotline.extensions import db
from hotline.tickets import queries, search
from hotline.tickets.models import Ticket
from tests import factories
from tests.helpers import test_config as make_config
from tests.integration.conftest import new_postgres_database

pytestmark = pytest.mark.postgres
COPIES = 3000


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    """A database of its own: one request filed through the service, ``COPIES`` more copied in SQL with
    other titles, ANALYZEd."""
    with new_postgres_database("hotline_search") as url:
        app = create_app(make_config(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={}))
        with app.app_context():
            try:
                db.create_all()
                world = factories.World()
                first = world.submit(title="消防验收进度咨询", description="我司停车位不足。")
                db.session.flush()
                db.session.execute(
                    text(
                        "INSERT INTO tickets (number, enterprise_id, building_id, street_id, category_id,"
                        " title, description, urgency, channel, contact_phone, state, created_by_id,"
                        " created_at, updated_at, reopen_count, escalation_level) "
                        "SELECT 'QH' || lpad(g::text, 9, '0'), enterprise_id, building_id, street_id,"
                        " category_id, '税务登记' || g, '社保缴纳' || g, urgency, channel,"
                        " '139' || lpad(g::text, 8, '0'),"
                        " state, created_by_id, created_at, updated_at, 0, 0 "
                        "FROM tickets, generate_series(1, :n) AS g WHERE id = :id"
                    ),
                    {"n": COPIES, "id": first.id},
                )
                db.session.commit()
                with db.engine.connect() as connection:
                    connection.execute(text("ANALYZE tickets"))
                    connection.commit()
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def _search(words: str) -> tuple[list[str], list[str]]:
    """The numbers found by the manager and the plan of the search's query over the indexes (its second
    step: the window of the newest requests, its first, made small enough to hold too few matches)."""
    manager = db.session.scalars(select(User).where(User.role == Role.MANAGER)).first()
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(search, "RECENT_WINDOW", 10)
            found = queries.search(queries.visible_tickets(manager), words)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    numbers = sorted(t.number for t in db.session.scalars(found.query))
    statement, parameters = next(s for s in seen if "MATERIALIZED" in s[0])
    with db.engine.connect() as connection:
        # A few thousand rows fit in a handful of pages, where a scan is cheapest: the question here is
        # whether the query's expression is the index's, so that the index can serve it (at 1M it does).
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("SET enable_indexscan = off")  # nor walking the date index
        plan = [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
    return numbers, plan


def test_trigrams_of_chinese_in_this_locale(app: Flask) -> None:
    with app.app_context():
        trigrams = db.session.scalar(text("SELECT show_trgm('消防验收')"))
        # four characters padded as a word: 5 trigrams (shown hashed); none if CJK were not letters here
        assert len(trigrams) == 5


@pytest.mark.parametrize(
    ("words", "index"),
    [
        ("消防验收", "ix_tickets_search_bigrams"),  # Chinese words by their pairs: exact keys, no recheck
        ("停车", "ix_tickets_search_bigrams"),
        ("00001234", "ix_tickets_search_trgm"),  # Latin letters and digits by trigrams
        ("QH000", "ix_tickets_search_trgm"),
    ],
)
def test_search_is_served_by_the_gin_indexes(app: Flask, words: str, index: str) -> None:
    with app.app_context():
        numbers, plan = _search(words)
        assert numbers, words
        assert any(index in line for line in plan), "\n".join(plan)
        assert not any("Seq Scan on tickets" in line for line in plan), "\n".join(plan)


def test_a_common_word_is_answered_from_the_newest_requests_without_the_indexes(app: Flask) -> None:
    """社保缴纳 is in every copy: the newest requests hold enough matches, which are the newest matches, and
    no query over the whole table is made."""
    with app.app_context():
        try:
            manager = db.session.scalars(select(User).where(User.role == Role.MANAGER)).first()
            seen: list[str] = []

            def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
                seen.append(statement)

            event.listen(db.engine, "before_cursor_execute", grab)
            try:
                found = queries.search(queries.visible_tickets(manager), "社保缴纳")
                listed = list(db.session.scalars(found.query))
            finally:
                event.remove(db.engine, "before_cursor_execute", grab)
            assert found.more and len(listed) == search.SEARCH_LIMIT
            newest = db.session.scalars(
                text(
                    "SELECT number FROM tickets WHERE description LIKE '社保缴纳%' "
                    "ORDER BY created_at DESC, id DESC LIMIT :n"
                ),
                {"n": search.SEARCH_LIMIT},
            )
            assert sorted(t.number for t in listed) == sorted(newest)
            assert not any("MATERIALIZED" in statement for statement in seen)
        finally:
            db.session.remove()


def test_the_bigram_function_returns_every_pair_of_a_text(app: Flask) -> None:
    """hotline_bigrams() (linear since revision 0009) gives every two-character substring, lower-cased, as
    many times as it occurs: the same keys the index of revision 0008 was built with."""
    texts = [
        "",
        "停",
        "停车",
        "楼宇停车位不足",
        "楼宇停车位不足。",
        "QH20261203-0001\n楼宇停车位\n地下车库车位紧张，希望协调。\n138-0013-8000",
        "ABCabc 12",
        "ÄÖÜ straße",
        "emoji 🚗🅿️ 车位",
        "  two  spaces  ",
        "\\1 backslash \\\\ and % and _",
    ]
    with app.app_context():
        try:
            for value in texts:
                got = db.session.scalar(select(text("hotline_bigrams(:t)")).params(t=value))
                lowered = db.session.scalar(select(text("lower(:t)")).params(t=value))
                pairs = [lowered[i : i + 2] for i in range(len(lowered) - 1)]
                assert sorted(got) == sorted(pairs), value
            assert db.session.scalar(text("SELECT hotline_bigrams(NULL) IS NULL")) is True
            # the one difference from every pair: a \x1f in the text (never in a request, never in a term)
            odd = db.session.scalar(select(text("hotline_bigrams(:t)")).params(t="a\x1fb"))
            assert sorted(odd) == ["a", "b"]
        finally:
            db.session.remove()


@pytest.mark.parametrize(
    "words",
    ["İstanbul", "istanbul", "ΟΔΟΣ", "οδος", "MiXeD", "停车", "消防验收", "QH00000", "科技", "科技 停车"],
)
def test_the_window_and_the_indexes_find_the_same_requests(app: Flask, words: str) -> None:
    """The two steps of a search (the newest requests checked one by one, then the indexes) are two ways to
    one answer: each alone lists the same requests, for the manager and for a liaison, case aside as
    PostgreSQL folds it (İ, a final Σ), enterprise names included."""
    with app.app_context():
        try:
            first = db.session.scalars(select(Ticket).order_by(Ticket.id)).first()
            assert first is not None
            if not db.session.scalar(select(func.count()).where(Ticket.number.like("QX%"))):
                for i, title in enumerate(("Hotel İSTANBUL 停车", "ΟΔΟΣ ΑΘΗΝΑΣ 12", "mixed CASE 消防验收")):
                    copy = {c.key: getattr(first, c.key) for c in Ticket.__table__.columns if c.key != "id"}
                    copy.update(number=f"QX{i:09d}", title=title)
                    db.session.add(Ticket(**copy))
                db.session.commit()
            manager = db.session.scalars(select(User).where(User.role == Role.MANAGER)).first()
            liaison = db.session.get(User, first.assignee_id) if first.assignee_id else None
            liaison = liaison or db.session.scalars(select(User).where(User.role == Role.LIAISON)).first()
            for user in (manager, liaison):
                answers = []
                for window in (10**9, 0):  # the window alone; the indexes alone
                    with pytest.MonkeyPatch.context() as patch:
                        patch.setattr(search, "RECENT_WINDOW", window)
                        found = queries.search(queries.visible_tickets(user), words)
                        answers.append(
                            (sorted(t.number for t in db.session.scalars(found.query)), found.more)
                        )
                assert answers[0] == answers[1], (user.role, words)
                if user is manager and words != "οδος":  # (PostgreSQL folds Σ to σ, never to ς)
                    assert answers[0][0], words
        finally:
            db.session.rollback()
            db.session.remove()


def test_the_start_of_a_number_walks_the_numbers_btree_newest_first(app: Flask) -> None:
    """A word shaped like the start of a number (two letters, four digits or more) finds the requests whose
    number begins with it, case aside, newest first, by one backward range of ``ix_tickets_number_c``;
    another word narrows it; a title that merely holds such a word is not a match."""
    with app.app_context():
        try:
            manager = db.session.scalars(select(User).where(User.role == Role.MANAGER)).first()
            first = db.session.scalars(select(Ticket).order_by(Ticket.id)).first()
            assert first is not None
            copy = {c.key: getattr(first, c.key) for c in Ticket.__table__.columns if c.key != "id"}
            copy.update(number="QZ000000001", title="转办 QH000001 的后续")
            db.session.add(Ticket(**copy))
            db.session.flush()
            seen: list[tuple[str, object]] = []

            def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
                seen.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", grab)
            try:
                found = queries.search(queries.visible_tickets(manager), "qh000001")
                numbers = [t.number for t in db.session.scalars(found.query)]
                narrowed = queries.search(queries.visible_tickets(manager), "QH000001 税务登记15")
                narrowed_numbers = sorted(t.number for t in db.session.scalars(narrowed.query))
            finally:
                event.remove(db.engine, "before_cursor_execute", grab)
            assert sorted(numbers) == [f"QH{g:09d}" for g in range(1000, 2000)] and not found.more
            assert narrowed_numbers == [f"QH{g:09d}" for g in range(1500, 1600)]
            statement, parameters = next(s for s in seen if 'COLLATE "C"' in s[0])
            with db.engine.connect() as connection:
                connection.exec_driver_sql("SET enable_seqscan = off")
                connection.exec_driver_sql("SET enable_bitmapscan = off")
                plan = [row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
            assert any("Index Scan Backward using ix_tickets_number_c" in line for line in plan), plan
        finally:
            db.session.rollback()
            db.session.remove()
