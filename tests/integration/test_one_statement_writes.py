"""Filing writes its rows in one statement, and pooled connections are pinged only when idle (issue 9,
point 1), on a real PostgreSQL.

``hotline.db.flush_new_rows`` turns a flush of new rows (the request, its event, its outbox message) into
one ``WITH … INSERT`` query; the rows must come out exactly as the ordinary flush writes them (defaults,
foreign keys from the related rows) and the objects must be usable afterwards without reading them again.
``hotline.db.ping_idle_connections`` replaces a dead connection that has been idle, instead of pinging at
every checkout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, select, text

from hotline import db as hotline_db
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketEvent, TicketState
from tests.integration.conftest import Hotline

pytestmark = pytest.mark.integration


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)


def _contact(hotline: Hotline) -> User:
    contact = db.session.get(User, hotline.district.contact_ids[0])
    assert contact is not None
    return contact


def _file(hotline: Hotline, title: str, contact: User | None = None, now: datetime | None = None) -> Ticket:
    return tickets.submit_ticket(
        contact or _contact(hotline),
        category=hotline.district.category_codes[0],
        title=title,
        description="一条语句写入诉求、事件和消息。",
        urgency="normal",
        contact_phone="13800138000",
        now=now or utcnow(),
    )


def test_a_filing_writes_its_request_event_and_message_in_one_statement(hotline: Hotline) -> None:
    with hotline.app.app_context():
        try:
            with _statements() as seen:
                ticket = _file(hotline, "one-statement")
            writes = [  # the day's first filing also creates the day's number counter
                s
                for s in seen
                if s.lstrip().upper().startswith(("INSERT", "WITH")) and "ticket_counters" not in s
            ]
            assert len(writes) == 1, writes
            assert writes[0].lstrip().upper().startswith("WITH")
            # the rows still referenced are in the session as loaded rows: reading them asks the database
            # nothing (the outbox message, referenced by nothing, leaves the weak identity map as after
            # any flush; it is read back from the database below)
            event_row = next(e for e in db.session.identity_map.values() if isinstance(e, TicketEvent))
            with _statements() as after:
                assert event_row.ticket_id == ticket.id and event_row.ticket is ticket
                assert event_row.kind == EventKind.SUBMITTED and event_row.id is not None
                assert event_row.payload == {"channel": "web", "urgency": "normal"}
                assert ticket.escalation_level == 0 and ticket.reopen_count == 0
            assert after == []
            assert not db.session.new and not db.session.dirty
            ticket_id = ticket.id
            db.session.commit()
        finally:
            db.session.remove()
    stored = hotline.scalar(select(Ticket.state).where(Ticket.id == ticket_id))
    assert stored == TicketState.SUBMITTED
    kinds = [
        row.kind for row in _rows(hotline, select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))
    ]
    assert kinds == [EventKind.SUBMITTED]
    messages = _rows(hotline, select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id))
    assert [(m.topic, m.payload) for m in messages] == [("route_ticket", {"ticket_id": ticket_id})]
    # published right after the commit: the nudge saw the message the one statement wrote (its flush
    # events ran as around a flush)
    assert messages[0].published_at is not None


def _rows(hotline: Hotline, statement: Any) -> list[Any]:
    with hotline.app.app_context():
        try:
            rows = list(db.session.scalars(statement))
            db.session.expunge_all()
            return rows
        finally:
            db.session.remove()


@pytest.mark.fresh_db
def test_the_category_is_checked_with_the_days_number_and_a_refused_filing_uses_no_number(
    hotline: Hotline,
) -> None:
    """One statement reads the chosen category and takes the day's next number, only if the category is
    active: a filing refused for its category is told so next to the field, and the next filing gets the
    number it would have had."""
    from hotline.errors import ValidationFailed
    from hotline.tickets.models import Category

    code = hotline.district.category_codes[0]
    with hotline.app.app_context():
        try:
            day = utcnow() + timedelta(days=3653)  # a day with no request yet: its first filing comes next
            last_id, called = db.session.execute(
                text("SELECT last_value, is_called FROM tickets_id_seq")
            ).one()
            before = _file(hotline, "before", now=day)
            first = before.number
            assert first.endswith("-0001")  # it takes the one id it uses, none wasted
            assert before.id == (last_id + 1 if called else last_id)
            db.session.commit()
            db.session.execute(text("UPDATE categories SET active = false WHERE code = :c"), {"c": code})
            db.session.commit()
            with pytest.raises(ValidationFailed) as refused:
                _file(hotline, "refused", now=day)
            assert set(refused.value.fields) == {"category"}
            db.session.rollback()
            db.session.execute(text("UPDATE categories SET active = true WHERE code = :c"), {"c": code})
            db.session.commit()
            contact = _contact(hotline)
            assert contact.enterprise is not None and contact.enterprise.building is not None  # as logged in
            with _statements() as seen:
                second = _file(hotline, "after", contact, now=day)
            assert second.category.code == code and isinstance(second.category, Category)
            second_number = second.number
            db.session.commit()
        finally:
            db.session.remove()
    # the filer is loaded: the category with the number, then the rows (nothing else asked on the way)
    assert len(seen) == 2, seen
    assert "categories" in seen[0] and "ticket_counters" in seen[0]
    day, count = first.rsplit("-", 1)
    assert second_number == f"{day}-{int(count) + 1:04d}"


def _answer_writes(seen: list[str]) -> list[str]:
    return [s for s in seen if "idempotency_keys" in s and not s.lstrip().upper().startswith("INSERT")]


def _stored_answer(hotline: Hotline, ticket_number: str) -> tuple[Any, ...]:
    from hotline.tickets.idempotency.models import IdempotencyKey

    query = (
        select(IdempotencyKey.response_status, IdempotencyKey.response_body, IdempotencyKey.completed_at)
        .join(Ticket, Ticket.id == IdempotencyKey.ticket_id)
        .where(Ticket.number == ticket_number)
    )
    with hotline.app.app_context():
        try:
            return tuple(db.session.execute(query).one())
        finally:
            db.session.remove()


def test_a_keyed_api_filing_stores_its_answer_in_the_statement_that_writes_the_request(
    hotline: Hotline,
) -> None:
    """The key's answer (status, body, request) is written with the request, its event and its outbox
    message, in their one statement: no UPDATE of its own after it; the same call again answers it."""
    import json

    from hotline.auth import services as accounts

    with hotline.app.app_context():
        try:
            token = accounts.issue_token(_contact(hotline), utcnow(), hours=1)[0]
            db.session.commit()
        finally:
            db.session.remove()
    payload = {
        "category": hotline.district.category_codes[0],
        "title": "keyed-one-statement",
        "description": "键的答复与诉求一同写入。",
        "contact_phone": "13800138000",
    }

    def call() -> Any:
        return hotline.app.test_client().post(
            "/api/v1/tickets",
            data=json.dumps(payload, ensure_ascii=False),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "one-statement-key"},
        )

    with hotline.app.app_context(), _statements() as seen:
        first = call()
    assert first.status_code == 201, first.get_data(as_text=True)
    answer_writes = _answer_writes(seen)
    assert len(answer_writes) == 1, answer_writes
    assert answer_writes[0].lstrip().upper().startswith("WITH") and "INSERT INTO tickets" in answer_writes[0]
    body = first.get_json()
    status, stored_body, completed_at = _stored_answer(hotline, body["number"])
    assert (status, stored_body) == (201, body) and completed_at is not None
    again = call()
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == body


def test_a_form_filing_stores_its_token_answer_in_the_statement_that_writes_the_request(
    hotline: Hotline,
) -> None:
    """The same for the portal form's one-time token: sent again, the form leads to the request filed."""
    from tests import factories
    from tests.helpers import csrf_token, login

    with hotline.app.app_context():
        try:
            username = _contact(hotline).username
        finally:
            db.session.remove()
    browser = hotline.app.test_client()
    login(browser, username, factories.PASSWORD)
    page = browser.get("/portal/new").get_data(as_text=True)
    form = {
        "category": hotline.district.category_codes[0],
        "title": "form-one-statement",
        "description": "表单令牌的答复与诉求一同写入。",
        "urgency": "normal",
        "contact_phone": "13800138000",
        "csrf_token": csrf_token(page),
        "submission_token": "form-one-statement-token",
    }
    with hotline.app.app_context(), _statements() as seen:
        first = browser.post("/portal/new", data=form)
    assert first.status_code == 302, first.get_data(as_text=True)[:500]
    answer_writes = _answer_writes(seen)
    assert len(answer_writes) == 1, answer_writes
    assert answer_writes[0].lstrip().upper().startswith("WITH") and "INSERT INTO tickets" in answer_writes[0]
    number = first.location.rsplit("/", 1)[-1]
    status, _body, completed_at = _stored_answer(hotline, number)
    assert status == 302 and completed_at is not None
    again = browser.post("/portal/new", data=form)
    assert again.status_code == 302 and again.location == first.location


def test_a_dead_connection_idle_for_a_while_is_replaced_at_checkout(
    hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hotline.app.app_context():
        try:
            old_pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        finally:
            db.session.remove()  # the connection goes back to the pool
        # another connection, outside the pool, ends the server processes of the pooled ones
        dsn = hotline.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        monkeypatch.setattr(hotline_db, "IDLE_PING_SECONDS", 0.0)  # "idle a while": now
        try:
            new_pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        finally:
            db.session.remove()
    assert new_pid != old_pid
