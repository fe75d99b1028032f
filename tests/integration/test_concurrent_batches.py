"""Two batch calls with the same ``Idempotency-Key`` at the same moment, on PostgreSQL: one batch.

``POST /api/v1/visits`` and ``POST /api/v1/meetings/<id>/requests`` claim their key, file their requests
and store their answer in one transaction, as ``POST /api/v1/tickets`` does
(tests/integration/test_concurrent_intake.py shows it for one request).  Here the first call is held inside
that transaction, at its first request, while the second arrives: the second waits for the first and gets
its answer, the same visit and requests; held longer than the second's wait, the second is told "being
processed" (409 with ``Retry-After``) and files nothing, and its retry gets the first batch.

In this process: the application on this module's PostgreSQL database, test clients in two threads.  No
sleeping: the test polls ``pg_stat_activity`` (with a deadline) until the second call is waiting.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from hotline.meetings.models import TicketOrigin, Visit
from hotline.tickets import services as tickets
from hotline.tickets.idempotency import intake
from hotline.tickets.models import Ticket
from hotline.timeutil import LOCAL_TZ
from tests.integration.conftest import Hotline, wait_until
from tests.integration.test_concurrent_intake import HELD_FOR, Held, _two_calls, _waiting_for_a_lock

pytestmark = pytest.mark.integration


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    """The first request filed in the test (a batch's first row) waits until the test releases it."""
    holder = Held()
    monkeypatch.setattr(tickets, "submit_ticket", holder.wrap(tickets.submit_ticket))
    try:
        yield holder
    finally:
        holder.release.set()


@dataclass(frozen=True)
class Liaison:
    """A liaison's bearer token, an enterprise of one of its buildings, and a category."""

    token: str
    enterprise_uscc: str
    building_id: int
    category: str


@pytest.fixture
def liaison(hotline: Hotline) -> Liaison:
    from hotline.auth import services as accounts
    from hotline.auth.models import User
    from hotline.db import utcnow
    from hotline.extensions import db

    liaison_id = hotline.district.liaison_ids[0]
    contact_id = next(c for c, primary in hotline.district.contacts.items() if primary == liaison_id)
    with hotline.app.app_context():
        try:
            user, contact = db.session.get(User, liaison_id), db.session.get(User, contact_id)
            assert user is not None and contact is not None and contact.enterprise is not None
            token = accounts.issue_token(user, utcnow(), hours=1)[0]
            found = Liaison(
                token,
                contact.enterprise.uscc,
                contact.enterprise.building_id,
                hotline.district.category_codes[0],
            )
            db.session.commit()
            return found
        finally:
            db.session.remove()


def _post(
    hotline: Hotline, token: str, path: str, payload: Any, key: str | None = None
) -> Callable[[], TestResponse]:
    """The call, as often as called: the same path, body and key, each time on a connection of its own."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    if key is not None:
        headers["Idempotency-Key"] = key

    def call() -> TestResponse:
        return hotline.app.test_client().post(
            f"/api/v1{path}",
            data=json.dumps(payload, ensure_ascii=False),
            content_type="application/json",
            headers=headers,
        )

    return call


def _items(who: Liaison, *titles: str, with_enterprise: bool = True) -> list[dict[str, Any]]:
    return [
        {
            **({"enterprise_uscc": who.enterprise_uscc} if with_enterprise else {}),
            "category": who.category,
            "title": title,
            "description": "同一批诉求同时提交两次。",
            "contact_phone": "13800138000",
            "urgency": "normal",
        }
        for title in titles
    ]


def _count(hotline: Hotline, *statement_where: Any, model: Any = Ticket) -> int:
    return int(hotline.scalar(select(func.count()).select_from(model).where(*statement_where)) or 0)


def test_a_second_visit_call_with_the_key_waits_for_the_first_and_gets_its_visit(
    hotline: Hotline, held: Held, liaison: Liaison
) -> None:
    tag = uuid.uuid4().hex[:8]
    titles = (f"visit-{tag}-a", f"visit-{tag}-b")
    body = {
        "enterprise_uscc": liaison.enterprise_uscc,
        "visited_on": datetime.now(LOCAL_TZ).date().isoformat(),
        "met": f"张总 {tag}",
        "items": _items(liaison, *titles, with_enterprise=False),
    }
    call = _post(hotline, liaison.token, "/visits", body, f"visit-{tag}")
    with _two_calls(call, call, held) as (one, two):
        wait_until(
            lambda: _waiting_for_a_lock(hotline), 10, interval=0.02, message="the second call never waited"
        )
        held.release.set()  # the first call goes on, within the second's wait
        first, second = one.result(timeout=HELD_FOR), two.result(timeout=HELD_FOR)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    assert second.status_code == 201, second.get_data(as_text=True)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert [t["title"] for t in first.get_json()["requests"]] == list(titles)
    assert _count(hotline, Visit.met == f"张总 {tag}", model=Visit) == 1
    assert _count(hotline, Ticket.title.in_(titles)) == 2


def test_a_second_meeting_batch_while_the_first_runs_too_long_is_409_and_its_retry_gets_the_batch(
    hotline: Hotline, held: Held, liaison: Liaison
) -> None:
    started = (datetime.now(LOCAL_TZ) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    schedule = {
        "kind": "tea_meeting",
        "title": "集成测试早茶会",
        "starts_at": started,
        "place": "大厦一楼会议室",
        "buildings": [liaison.building_id],
        "invite_buildings": [liaison.building_id],
    }
    made = _post(hotline, liaison.token, "/meetings", schedule)()
    assert made.status_code == 201, made.get_data(as_text=True)
    meeting_id = made.get_json()["id"]
    tag = uuid.uuid4().hex[:8]
    titles = (f"table-{tag}-a", f"table-{tag}-b", f"table-{tag}-c")
    path = f"/meetings/{meeting_id}/requests"
    call = _post(hotline, liaison.token, path, {"items": _items(liaison, *titles)}, f"minutes-{tag}")

    with _two_calls(call, call, held) as (one, two):
        second = two.result(timeout=intake.API_LOCK_WAIT_SECONDS + 20)  # the first is still held
        assert _count(hotline, Ticket.title.in_(titles)) == 0
        held.release.set()
        first = one.result(timeout=HELD_FOR)
    assert second.status_code == 409, second.get_data(as_text=True)
    assert second.get_json()["error"]["code"] == "idempotency_key_in_flight"
    assert second.headers["Retry-After"] == str(intake.IN_FLIGHT_RETRY_AFTER_SECONDS)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert [t["title"] for t in first.get_json()] == list(titles)

    retry = call()
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert _count(hotline, Ticket.title.in_(titles)) == 3
    assert _count(hotline, TicketOrigin.meeting_id == meeting_id, model=TicketOrigin) == 3
    # without the key, the same batch is filed again: the key is what kept the retries to one batch
    bare = _post(hotline, liaison.token, path, {"items": _items(liaison, *titles)})()
    assert bare.status_code == 201 and "Idempotent-Replayed" not in bare.headers
    assert _count(hotline, Ticket.title.in_(titles)) == 6
