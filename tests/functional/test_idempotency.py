"""Idempotent intake (issue 8, point 5): ``Idempotency-Key`` on ``POST /api/v1/tickets`` and the one-time
token of the filing forms, through the test client with real tokens, forms and CSRF.

What a client would notice: a call sent again files nothing new and gets the first answer; a key reused for
another request is refused; a bad key is refused before anything is filed; a form sent twice files once
and says so.  Concurrency (a second call while the first runs) needs PostgreSQL's row locks: it is in
tests/integration/test_idempotent_retries.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from werkzeug.test import TestResponse

from hotline.auth.models import User
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage
from hotline.outbox.services import ROUTE_TICKET
from hotline.tickets.idempotency.models import IdempotencyKey, IdempotencyScope
from hotline.tickets.idempotency.services import prune_expired
from hotline.tickets.idempotency.tasks import prune_idempotency_keys
from hotline.tickets.models import EventKind, Ticket, TicketEvent
from tests import factories
from tests.factories import World
from tests.helpers import csrf_token, login

API = "/api/v1"
NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Shanghai


def body(world: World, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "category": world.category.code,
        "title": "办公楼停车位不足",
        "description": "员工停车困难，希望协调周边停车资源。",
        "urgency": "normal",
        "contact_phone": "13800138000",
    }
    values.update(fields)
    return values


def token_for(client: FlaskClient, user: User) -> str:
    response = client.post(f"{API}/tokens", json={"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["token"])


def file(
    client: FlaskClient, token: str, payload: Any, key: str | None = None, *, raw: str | None = None
) -> TestResponse:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    data = raw if raw is not None else json.dumps(payload, ensure_ascii=False)
    return client.post(f"{API}/tickets", data=data, headers=headers, content_type="application/json")


def count_tickets(**where: Any) -> int:
    query = select(func.count(Ticket.id))
    for name, value in where.items():
        query = query.where(getattr(Ticket, name) == value)
    return db.session.scalar(query) or 0


def error_of(response: TestResponse) -> dict[str, Any]:
    data = response.get_json()
    assert isinstance(data, dict) and "error" in data, response.get_data(as_text=True)[:500]
    error: dict[str, Any] = data["error"]
    assert error["message"], error
    return error


# --------------------------------------------------------------------------- the API


def test_the_same_call_sent_again_files_one_request_and_gets_the_first_answer(client, world):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    first = file(client, token, body(world), "order-7f3a")
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers

    again = file(client, token, body(world), "order-7f3a")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert first.get_json()["number"] in first.headers["Location"]
    assert count_tickets() == 1

    # the same body with its keys in another order and other spacing is the same call
    reordered = (
        "{\n" + ",\n".join(f'  "{k}" : {json.dumps(v)}' for k, v in reversed(body(world).items())) + "}"
    )
    assert file(client, token, None, "order-7f3a", raw=reordered).headers["Idempotent-Replayed"] == "true"
    assert count_tickets() == 1

    # another key files another request
    other = file(client, token, body(world), "order-7f3b")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert other.get_json()["number"] != first.get_json()["number"]
    assert count_tickets() == 2


def test_without_a_key_every_call_files_a_request(client, world):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    assert file(client, token, body(world)).status_code == 201
    assert file(client, token, body(world)).status_code == 201
    assert count_tickets() == 2


def test_a_key_reused_for_another_body_is_409_and_files_nothing(client, world):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    assert file(client, token, body(world), "k-1").status_code == 201
    response = file(client, token, body(world, title="另一件事：路灯不亮"), "k-1")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "idempotency_key_reused"
    assert "different request" in error["message"] or "不同" in error["message"]
    assert count_tickets() == 1
    assert count_tickets(title="另一件事：路灯不亮") == 0


@pytest.mark.parametrize(
    "key",
    [
        "",
        "   ",
        "k" * 256,
        "k" * 20_000,
        "键盘",  # not ASCII
        "café",
        "ab\x00cd",
        "\x00",
        "tab\there",
        "del\x7f",
        '"unterminated',
        '"bad \\n escape"',
        '"a"b"',
        '""',
    ],
    ids=repr,
)
def test_a_malformed_key_is_refused_with_400_before_anything_is_filed(client, world, key):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    try:
        response = file(client, token, body(world), key)
    except ValueError:  # the test client itself refuses to send this header value
        pytest.skip("the test client cannot send this value")
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    error = error_of(response)
    assert error["code"] == "invalid_idempotency_key"
    assert count_tickets() == 0
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0


def test_the_key_sent_twice_is_one_key_the_same_on_every_retry(client, world):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    headers = [("Authorization", f"Bearer {token}"), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    first = client.post(f"{API}/tickets", json=body(world), headers=headers)
    again = client.post(f"{API}/tickets", json=body(world), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_tickets() == 1


def test_the_longest_key_and_a_quoted_structured_field_key_work(client, world):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    longest = "~" + "x" * 253 + " "  # printable ASCII, 255 characters, a space inside is allowed
    longest = longest[:-1] + "!"
    assert file(client, token, body(world), longest).status_code == 201
    assert file(client, token, body(world), longest).headers["Idempotent-Replayed"] == "true"

    # The IETF draft sends the key as a Structured Fields string: "…" is the same key as the bare one.
    assert file(client, token, body(world), '"8e03978e-40d5"').status_code == 201
    replay = file(client, token, body(world), "8e03978e-40d5")
    assert replay.headers["Idempotent-Replayed"] == "true"
    quoted = file(client, token, body(world), '"with \\"quotes\\" and \\\\"')
    assert quoted.status_code == 201
    assert file(client, token, body(world), 'with "quotes" and \\').headers["Idempotent-Replayed"] == "true"
    assert count_tickets() == 3


def test_keys_are_the_users_own(client, world):  # type: ignore[no-untyped-def]
    mine, theirs = token_for(client, world.contact), token_for(client, world.other_contact)
    first = file(client, mine, body(world), "shared-key")
    second = file(client, theirs, body(world), "shared-key")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["number"] != second.get_json()["number"]
    assert second.get_json()["enterprise"]["uscc"] == world.other_enterprise.uscc
    assert count_tickets() == 2


def test_a_key_is_answered_for_24_hours_then_files_a_new_request(client, world):  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False) as traveller:
        token = token_for(client, world.contact)
        first = file(client, token, body(world), "daily-report")
        assert first.status_code == 201

        traveller.move_to(NOW + timedelta(hours=23, minutes=59))
        assert file(client, token, body(world), "daily-report").headers["Idempotent-Replayed"] == "true"
        assert count_tickets() == 1

        traveller.move_to(NOW + timedelta(hours=24, minutes=1))
        token = token_for(client, world.contact)  # the first token has expired too
        later = file(client, token, body(world), "daily-report")
        assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
        assert later.get_json()["number"] != first.get_json()["number"]
        assert count_tickets() == 2
        # and the key now answers with the new request
        assert file(client, token, body(world), "daily-report").get_json() == later.get_json()
        assert count_tickets() == 2


def test_a_refused_call_keeps_nothing_so_the_corrected_call_may_use_the_key(client, world):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    refused = file(client, token, body(world, category="no-such-category"), "fix-and-retry")
    assert refused.status_code == 400
    assert "category" in error_of(refused)["fields"]
    assert count_tickets() == 0

    corrected = file(client, token, body(world), "fix-and-retry")
    assert corrected.status_code == 201, corrected.get_json()
    assert file(client, token, body(world), "fix-and-retry").headers["Idempotent-Replayed"] == "true"
    assert count_tickets() == 1


def test_the_key_is_checked_after_the_token(client, world):  # type: ignore[no-untyped-def]
    response = client.post(f"{API}/tickets", json=body(world), headers={"Idempotency-Key": "k" * 300})
    assert response.status_code == 401  # who you are comes first; a stranger learns nothing of keys


def test_the_openapi_document_describes_the_header_and_the_409(client):  # type: ignore[no-untyped-def]
    document = client.get(f"{API}/openapi.json").get_json()
    operation = document["paths"]["/api/v1/tickets"]["post"]
    parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
    assert "Idempotency-Key" in parameters
    assert parameters["Idempotency-Key"]["schema"]["maxLength"] == 255
    assert "409" in operation["responses"]
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


def test_keys_expired_for_a_day_are_pruned(client, world):  # type: ignore[no-untyped-def]
    """Pruned 48 hours after their first call: a call meeting its key just expired (24 h) finds it still."""
    with time_machine.travel(NOW, tick=False) as traveller:
        token = token_for(client, world.contact)
        assert file(client, token, body(world), "old").status_code == 201
        traveller.move_to(NOW + timedelta(hours=20))
        token = token_for(client, world.contact)
        assert file(client, token, body(world), "recent").status_code == 201
        traveller.move_to(NOW + timedelta(hours=30))
        assert prune_idempotency_keys() == 0  # expired, not yet pruned
        traveller.move_to(NOW + timedelta(hours=49))
        assert prune_idempotency_keys() == 1  # the beat job
        assert set(db.session.scalars(select(IdempotencyKey.key))) == {"recent"}
        assert prune_expired(NOW + timedelta(hours=69)) == 1
        assert count_tickets() == 2  # the requests themselves stay, of course


# --------------------------------------------------------------------------- the forms

TOKEN_RE = re.compile(
    r'name="submission_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="submission_token"'
)


def form_fields(html: str) -> dict[str, str]:
    match = TOKEN_RE.search(html)
    assert match, "no one-time token on the form"
    return {"csrf_token": csrf_token(html), "submission_token": match.group(1) or match.group(2)}


def portal_form(world: World, **fields: Any) -> dict[str, Any]:
    values = body(world, title="园区门口道路破损", urgency="urgent")
    values.update(fields)
    return values


def test_a_portal_form_sent_twice_files_one_request_and_says_so(client, world):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    client.get("/lang/en")
    page = client.get("/portal/new").get_data(as_text=True)
    hidden = form_fields(page)
    data = {**portal_form(world), **hidden}

    first = client.post("/portal/new", data=data)
    assert first.status_code == 302
    ticket = db.session.scalars(select(Ticket)).one()
    assert first.location.endswith(f"/tickets/{ticket.number}")
    assert "has been filed" in client.get(first.location).get_data(as_text=True)

    # double click, or back and submit again: the same token
    again = client.post("/portal/new", data=data)
    assert again.status_code == 302
    assert again.location == first.location
    shown = client.get(again.location).get_data(as_text=True)
    assert f"This form was already submitted: here is request {ticket.number}." in shown
    assert count_tickets() == 1

    # even with a changed field, the token's form was filed already
    assert client.post("/portal/new", data={**data, "title": "改了标题"}).location == first.location
    assert count_tickets() == 1

    # the form shown anew has a new token, and files a new request
    fresh = form_fields(client.get("/portal/new").get_data(as_text=True))
    assert fresh["submission_token"] != hidden["submission_token"]
    third = client.post("/portal/new", data={**portal_form(world), **fresh})
    assert third.status_code == 302 and third.location != first.location
    assert count_tickets() == 2


def test_a_refused_form_keeps_its_token_and_files_once_when_corrected(client, world):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    hidden = form_fields(client.get("/portal/new").get_data(as_text=True))
    refused = client.post("/portal/new", data={**portal_form(world, title="  "), **hidden})
    assert refused.status_code == 400
    assert form_fields(refused.get_data(as_text=True))["submission_token"] == hidden["submission_token"]
    assert count_tickets() == 0

    data = {**portal_form(world), **hidden}
    assert client.post("/portal/new", data=data).status_code == 302
    assert client.post("/portal/new", data=data).status_code == 302
    assert count_tickets() == 1


def test_another_users_token_files_that_users_own_request(client, app, world):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    hidden = form_fields(client.get("/portal/new").get_data(as_text=True))
    first = client.post("/portal/new", data={**portal_form(world), **hidden})
    assert first.status_code == 302

    other = app.test_client()
    login(other, world.other_contact.username)
    other_fields = form_fields(other.get("/portal/new").get_data(as_text=True))
    stolen = {**portal_form(world), "csrf_token": other_fields["csrf_token"]}
    stolen["submission_token"] = hidden["submission_token"]
    response = other.post("/portal/new", data=stolen)
    assert response.status_code == 302
    assert response.location != first.location  # not the first user's request
    assert other.get(first.location).status_code == 404
    assert count_tickets() == 2
    assert count_tickets(enterprise_id=world.other_enterprise.id) == 1


def test_the_staff_record_form_sent_twice_records_one_request(client, world):  # type: ignore[no-untyped-def]
    login(client, world.liaison.username)
    client.get("/lang/en")
    hidden = form_fields(client.get("/workbench/record").get_data(as_text=True))
    data = {**portal_form(world), "enterprise_uscc": world.enterprise.uscc, "channel": "phone", **hidden}
    first = client.post("/workbench/record", data=data)
    second = client.post("/workbench/record", data=data)
    assert first.status_code == second.status_code == 302
    assert second.location == first.location
    ticket = db.session.scalars(select(Ticket)).one()
    assert "already submitted" in client.get(second.location).get_data(as_text=True)
    assert ticket.enterprise_id == world.enterprise.id
    row = db.session.scalars(select(IdempotencyKey)).one()
    assert (row.scope, row.user_id, row.ticket_id) == (IdempotencyScope.FORM, world.liaison.id, ticket.id)


@pytest.mark.parametrize("value", ["", "x" * 300, "a\x00b", "键"], ids=repr)
def test_a_form_without_a_usable_token_is_filed_as_before(client, world, value):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    hidden = form_fields(client.get("/portal/new").get_data(as_text=True))
    data = {**portal_form(world), **hidden, "submission_token": value}
    response = client.post("/portal/new", data=data)
    assert response.status_code in (302, 400), response.get_data(as_text=True)[:500]
    assert response.status_code != 500
    if response.status_code == 302:
        assert count_tickets() == 1
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0


def test_the_form_token_and_the_api_key_are_different_keys(client, world):  # type: ignore[no-untyped-def]
    login(client, world.contact.username)
    hidden = form_fields(client.get("/portal/new").get_data(as_text=True))
    assert client.post("/portal/new", data={**portal_form(world), **hidden}).status_code == 302
    token = token_for(client, world.contact)
    response = file(client, token, body(world), hidden["submission_token"])
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count_tickets() == 2


# --------------------------------------------------------------------------- one transaction per filing


@contextmanager
def commits_counted() -> Iterator[list[int]]:
    """How many times the request's session commits while the block runs (one item per commit)."""
    seen: list[int] = []

    def count(session: Any) -> None:
        if not session.in_nested_transaction():  # a savepoint released is not a commit
            seen.append(1)

    event.listen(db.session, "after_commit", count)
    try:
        yield seen
    finally:
        event.remove(db.session, "after_commit", count)


def assert_filed_together(ticket: Ticket, scope: IdempotencyScope) -> None:
    """The request, its submission event, its routing message and its key's answer are all there."""
    kinds = set(db.session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)))
    assert kinds == {EventKind.SUBMITTED}
    topics = list(db.session.scalars(select(OutboxMessage.topic).where(OutboxMessage.ticket_id == ticket.id)))
    assert topics == [ROUTE_TICKET]
    key = db.session.scalars(select(IdempotencyKey)).one()
    assert (key.scope, key.ticket_id, key.answered) == (scope, ticket.id, True)


def test_a_form_filing_is_one_transaction_with_its_outbox_row_and_its_token(client, world):  # type: ignore[no-untyped-def]
    """DESIGN §8: the outbox row in the same transaction as the request (and the token's answer): one
    commit, so the routing message cannot exist without its request, nor the request without it."""
    login(client, world.contact.username)
    hidden = form_fields(client.get("/portal/new").get_data(as_text=True))
    with commits_counted() as commits:
        response = client.post("/portal/new", data={**portal_form(world), **hidden})
    assert response.status_code == 302
    assert len(commits) == 1
    assert_filed_together(db.session.scalars(select(Ticket)).one(), IdempotencyScope.FORM)


def test_an_api_filing_with_a_key_is_one_transaction(client, world):  # type: ignore[no-untyped-def]
    token = token_for(client, world.contact)
    with commits_counted() as commits:
        response = file(client, token, body(world), "one-commit")
    assert response.status_code == 201, response.get_json()
    assert len(commits) == 1
    assert_filed_together(db.session.scalars(select(Ticket)).one(), IdempotencyScope.API)
    with commits_counted() as commits:  # the replay changes nothing, so it commits nothing
        assert file(client, token, body(world), "one-commit").headers["Idempotent-Replayed"] == "true"
    assert commits == []


@pytest.mark.fresh_db  # the nudge marks the row in a transaction of its own, outside the test's rollback
def test_a_filing_is_published_to_the_workers_once_its_answer_has_been_sent(client, app, world):  # type: ignore[no-untyped-def]
    """The outbox nudge runs after the answer (the WSGI response's close), so the client never waits for the
    broker; it still publishes the request's routing message, and marks it published."""
    from hotline.outbox import publisher

    sent: list[tuple[str, dict[str, Any]]] = []
    publisher.init_app(app, publish=lambda name, kwargs: sent.append((name, kwargs)))
    try:
        token = token_for(client, world.contact)
        headers = {"Authorization": f"Bearer {token}"}
        response = client.post(f"{API}/tickets", json=body(world), headers=headers, buffered=False)
        assert response.status_code == 201
        assert sent == []  # the answer is out; nothing published yet
        response.close()
    finally:
        app.extensions.pop(publisher.EXTENSION, None)
    [message] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == ROUTE_TICKET)).all()
    assert [kwargs for _name, kwargs in sent] == [message.payload]
    db.session.refresh(message)
    assert message.published_at is not None
