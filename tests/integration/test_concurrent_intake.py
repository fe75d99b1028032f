"""Two filings with the same key at the same moment, on PostgreSQL (issue 9, point 1): one request.

A filing claims its key, files its request and stores the answer in one transaction
(hotline/tickets/idempotency).  Here the first call is held inside that transaction, right after it
claimed the key, while a second call with the same key arrives: the second waits for the first (its
insert of the key waits for the first transaction), then answers with the first one's request; held
longer than the second call's wait, the second is told "being processed" and files nothing, and its retry
gets the first answer.  The same for the one-time token of the portal's form.

In this process: the application on this module's PostgreSQL database, two test clients in two threads.
No sleeping: the test polls ``pg_stat_activity`` (with a deadline) until the second call is waiting.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from hotline.tickets import services as tickets
from hotline.tickets.idempotency import intake
from hotline.tickets.models import Ticket
from tests import factories
from tests.helpers import csrf_token, login
from tests.integration.conftest import Hotline, wait_until

pytestmark = pytest.mark.integration

HELD_FOR = 30.0  # the most the first call is ever held (released as soon as the test has seen enough)
TOKEN_RE = re.compile(
    r'name="submission_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="submission_token"'
)


class Held:
    """Holds the first filing inside its transaction (after it claimed its key) until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.lock = threading.Lock()

    def wrap(self, submit: Callable[..., Ticket]) -> Callable[..., Ticket]:
        def held_submit(*args: Any, **kwargs: Any) -> Ticket:
            with self.lock:
                self.calls += 1
                first = self.calls == 1
            if first:
                self.entered.set()
                assert self.release.wait(HELD_FOR), "the test never released the first call"
            return submit(*args, **kwargs)

        return held_submit


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    holder = Held()
    monkeypatch.setattr(tickets, "submit_ticket", holder.wrap(tickets.submit_ticket))
    try:
        yield holder
    finally:
        holder.release.set()


def _waiting_for_a_lock(hotline: Hotline) -> bool:
    """Whether some session of this module's database waits for a lock (the second call's insert)."""
    dsn = hotline.env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


def _count(hotline: Hotline, title: str) -> int:
    return int(hotline.scalar(select(func.count(Ticket.id)).where(Ticket.title == title)) or 0)


@contextmanager
def _two_calls(
    first: Callable[[], TestResponse], second: Callable[[], TestResponse], held: Held
) -> Iterator[tuple[Future[TestResponse], Future[TestResponse]]]:
    """Start ``first`` (held after claiming its key), then ``second`` once ``first`` holds the key."""
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(first)
        assert held.entered.wait(HELD_FOR), "the first call never reached its filing"
        two = pool.submit(second)
        try:
            yield one, two
        finally:
            held.release.set()


def _api_call(hotline: Hotline, token: str, payload: dict[str, Any], key: str) -> Callable[[], TestResponse]:
    def call() -> TestResponse:
        client = hotline.app.test_client()
        return client.post(
            "/api/v1/tickets",
            data=json.dumps(payload, ensure_ascii=False),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )

    return call


@pytest.fixture
def api_token(hotline: Hotline) -> str:
    from hotline.auth import services as accounts
    from hotline.auth.models import User
    from hotline.db import utcnow
    from hotline.extensions import db

    with hotline.app.app_context():
        user = db.session.get(User, hotline.district.contact_ids[0])
        assert user is not None
        token = accounts.issue_token(user, utcnow(), hours=1)[0]
        db.session.commit()
        db.session.remove()
    return token


def _payload(hotline: Hotline, title: str) -> dict[str, Any]:
    return {
        "category": hotline.district.category_codes[0],
        "title": title,
        "description": "同一请求同时发出两次。",
        "contact_phone": "13800138000",
    }


def test_a_second_call_with_the_key_waits_for_the_first_and_gets_its_request(
    hotline: Hotline, held: Held, api_token: str
) -> None:
    title = "concurrent-api-wait"
    call = _api_call(hotline, api_token, _payload(hotline, title), "same-moment-1")
    with _two_calls(call, call, held) as (one, two):
        wait_until(
            lambda: _waiting_for_a_lock(hotline), 10, interval=0.02, message="the second call never waited"
        )
        held.release.set()  # the first call goes on, within the second's wait
        first, second = one.result(timeout=30), two.result(timeout=30)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    assert second.status_code == 201, second.get_data(as_text=True)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["number"] == first.get_json()["number"]
    assert _count(hotline, title) == 1


def test_a_second_call_while_the_first_runs_too_long_is_409_and_its_retry_gets_the_request(
    hotline: Hotline, held: Held, api_token: str
) -> None:
    title = "concurrent-api-busy"
    call = _api_call(hotline, api_token, _payload(hotline, title), "same-moment-2")
    with _two_calls(call, call, held) as (one, two):
        second = two.result(timeout=intake.API_LOCK_WAIT_SECONDS + 20)  # the first is still held
        assert _count(hotline, title) == 0
        held.release.set()
        first = one.result(timeout=30)
    assert second.status_code == 409, second.get_data(as_text=True)
    assert second.get_json()["error"]["code"] == "idempotency_key_in_flight"
    assert second.headers["Retry-After"] == str(intake.IN_FLIGHT_RETRY_AFTER_SECONDS)
    assert first.status_code == 201
    retry = call()
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json()["number"] == first.get_json()["number"]
    assert _count(hotline, title) == 1


def _portal_form(hotline: Hotline, title: str, contact_index: int) -> Callable[[], TestResponse]:
    """A click on the portal form's submit button, as often as called: the same form, session and token."""
    from hotline.auth.models import User
    from hotline.extensions import db

    with hotline.app.app_context():
        user = db.session.get(User, hotline.district.contact_ids[contact_index])
        assert user is not None
        username = user.username
        db.session.remove()
    browser = hotline.app.test_client()
    login(browser, username, factories.PASSWORD)
    page = browser.get("/portal/new").get_data(as_text=True)
    match = TOKEN_RE.search(page)
    assert match, "no one-time token on the form"
    form = {
        **_payload(hotline, title),
        "urgency": "normal",
        "csrf_token": csrf_token(page),
        "submission_token": match.group(1) or match.group(2),
    }
    cookie = browser.get_cookie("session")
    assert cookie is not None

    def click() -> TestResponse:  # the same browser session, its own connection (a double click)
        client = hotline.app.test_client()
        client.set_cookie("session", cookie.value)
        return client.post("/portal/new", data=form)

    return click


def test_a_form_sent_twice_at_once_files_one_request(hotline: Hotline, held: Held) -> None:
    title = "concurrent-form"
    click = _portal_form(hotline, title, 1)
    with _two_calls(click, click, held) as (one, two):
        wait_until(
            lambda: _waiting_for_a_lock(hotline), 10, interval=0.02, message="the second click never waited"
        )
        held.release.set()
        first, second = one.result(timeout=30), two.result(timeout=30)
    assert first.status_code == second.status_code == 302, second.get_data(as_text=True)[:500]
    assert first.location == second.location
    assert _count(hotline, title) == 1
    number = hotline.scalar(select(Ticket.number).where(Ticket.title == title))
    assert first.location.endswith(f"/tickets/{number}")


def test_a_second_click_while_the_first_runs_too_long_asks_to_wait_and_files_nothing(
    hotline: Hotline, held: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "FORM_LOCK_WAIT_SECONDS", 0.3)
    title = "concurrent-form-busy"
    click = _portal_form(hotline, title, 2)
    with _two_calls(click, click, held) as (one, two):
        second = two.result(timeout=20)  # the first is still held
        assert _count(hotline, title) == 0
        held.release.set()
        first = one.result(timeout=30)
    assert second.status_code == 400
    page = second.get_data(as_text=True)
    assert "此表单仍在提交中" in page or "still being submitted" in page
    assert TOKEN_RE.search(page), "the form is shown again, with its token"
    assert first.status_code == 302
    again = click()  # submitted again once the first is done: its request, not a second one
    assert again.status_code == 302 and again.location == first.location
    assert _count(hotline, title) == 1
