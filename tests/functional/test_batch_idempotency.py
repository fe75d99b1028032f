"""``Idempotency-Key`` on the calls that file several requests at once, ``POST
/api/v1/meetings/<id>/requests`` and ``POST /api/v1/visits``, with the semantics of ``POST /api/v1/tickets``
(tests/functional/test_idempotency.py).

What a client that retries after a timeout would notice: the same call with its key files nothing new and
gets the first answer (the same list of requests); the key with another body, or sent to another meeting or
endpoint, is refused; without a key every call files anew; a refused batch keeps nothing, so the corrected
batch may use the key.  Two calls with one key at the same moment need PostgreSQL's row locks: they are in
tests/integration/test_concurrent_batches.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from hotline.extensions import db
from hotline.meetings.models import TicketOrigin, Visit
from hotline.sla import services as sla
from hotline.tickets.idempotency.models import IdempotencyKey, IdempotencyScope
from hotline.tickets.models import Ticket
from tests.factories import World
from tests.functional.test_api import API, error_of
from tests.functional.test_idempotency import commits_counted
from tests.functional.test_meetings_api import AFTER, ENGLISH, SCHEDULED, Caller, _item, _schedule


class Keyed(Caller):
    """A token holder that may send an ``Idempotency-Key`` (and a body as raw text)."""

    def send(self, path: str, body: Any, key: str | None = None, *, raw: str | None = None) -> TestResponse:
        headers = {**self.headers, **ENGLISH}
        if key is not None:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False)
        return self.client.post(f"{API}{path}", data=data, headers=headers, content_type="application/json")


@pytest.fixture
def clock(app: Any) -> Iterator[time_machine.Coordinates]:
    """Frozen at the week before the meeting of tests/functional/test_meetings_api.py, 2026 loaded."""
    with time_machine.travel(SCHEDULED, tick=False) as traveller:
        sla.sync_calendar_from_package(SCHEDULED, years=[2026])
        db.session.commit()
        yield traveller


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _keys() -> list[IdempotencyKey]:
    return list(db.session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.id)))


def _visit_body(world: World, *titles: str, **values: Any) -> dict[str, Any]:
    return {
        "enterprise_uscc": world.enterprise.uscc,
        "visited_on": "2026-03-10",
        "met": "张总（总经理）",
        "notes": "了解了扩租需求。",
        "items": [
            {k: v for k, v in _item(world, title=title).items() if k != "enterprise_uscc"} for title in titles
        ],
        **values,
    }


# --------------------------------------------------------------------------- a meeting's requests


def test_a_meetings_batch_sent_again_with_its_key_is_filed_once_and_answered_the_same(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}/requests"
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    items = [_item(world, title="停车难"), _item(world, title="招聘补贴", answer="现场答复：下周可申报。")]

    first = liaison.send(path, {"items": items}, "minutes-0310")
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert [t["title"] for t in first.get_json()] == ["停车难", "招聘补贴"]

    again = liaison.send(path, {"items": items}, "minutes-0310")
    assert again.status_code == 201, again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert "Location" not in again.headers  # the answer's shape is the first's: a list, no Location
    assert _count(Ticket) == 2 and _count(TicketOrigin) == 2
    assert liaison.ok("GET", f"/meetings/{meeting['id']}")["requests_raised"] == 2

    # the same body with its keys in another order and other spacing is the same call
    reordered = json.dumps({"items": [dict(reversed(list(i.items()))) for i in items]}, indent=3)
    replay = liaison.send(path, None, "minutes-0310", raw=reordered)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json() == first.get_json()
    # the stored answer is the first one, even after the requests have moved on
    number = first.get_json()[1]["number"]
    Caller(client, world.contact).ok("POST", f"/tickets/{number}/rate", {"score": "satisfied"})
    assert liaison.send(path, {"items": items}, "minutes-0310").get_json()[1]["state"] == "resolved"
    assert _count(Ticket) == 2

    # another key files the batch again
    other = liaison.send(path, {"items": items}, "minutes-0310-b")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers
    assert {t["number"] for t in other.get_json()}.isdisjoint(t["number"] for t in first.get_json())
    assert _count(Ticket) == 4


def test_a_meetings_batch_without_a_key_is_filed_every_time(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}/requests"
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    items = [_item(world, title="停车难"), _item(world, title="网络故障")]
    first, second = liaison.send(path, {"items": items}), liaison.send(path, {"items": items})
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json() != second.get_json()
    assert _count(Ticket) == 4
    assert _keys() == []


def test_a_meetings_key_reused_for_another_batch_or_meeting_is_409_and_files_nothing(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    april = _schedule(client, world, starts_at="2026-03-10 09:00", title="第二场早茶会")
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    path = f"/meetings/{meeting['id']}/requests"
    assert liaison.send(path, {"items": [_item(world, title="停车难")]}, "k-1").status_code == 201

    changed = liaison.send(path, {"items": [_item(world, title="路灯不亮")]}, "k-1")
    refused = error_of(changed, 409, "idempotency_key_reused")
    assert refused["message"] == "This Idempotency-Key was already used for a different request."
    # the same batch for another meeting is another call: the first meeting's answer is not given to it
    elsewhere = liaison.send(
        f"/meetings/{april['id']}/requests", {"items": [_item(world, title="停车难")]}, "k-1"
    )
    error_of(elsewhere, 409, "idempotency_key_reused")
    # nor is a ticket's or a visit's (one key, one call, whichever endpoint)
    error_of(liaison.send("/visits", _visit_body(world, "停车难"), "k-1"), 409, "idempotency_key_reused")

    assert [t.title for t in db.session.scalars(select(Ticket))] == ["停车难"]
    assert liaison.ok("GET", f"/meetings/{april['id']}")["state"] == "scheduled"
    assert _count(Visit) == 0


def test_a_refused_meetings_batch_with_a_key_keeps_nothing_and_the_corrected_batch_files_once(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}/requests"
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    good = _item(world, title="停车难")

    bad = liaison.send(path, {"items": [good, _item(world, title="")]}, "fix-and-retry")
    assert error_of(bad, 400, "validation_failed")["fields"] == {"items.1.title": "This field is required."}
    assert _keys() == [] and _count(Ticket) == 0
    # refused by who sends it: nothing kept either, and the host's own call with the key is its own
    contact = Keyed(client, world.contact)
    error_of(contact.send(path, {"items": [good]}, "fix-and-retry"), 403, "forbidden")
    assert _keys() == []

    corrected = liaison.send(path, {"items": [good, _item(world, title="网络故障")]}, "fix-and-retry")
    assert corrected.status_code == 201, corrected.get_json()
    assert "Idempotent-Replayed" not in corrected.headers
    again = liaison.send(path, {"items": [good, _item(world, title="网络故障")]}, "fix-and-retry")
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == corrected.get_json()
    assert _count(Ticket) == 2
    [key] = _keys()
    assert (key.scope, key.user_id, key.response_status) == (IdempotencyScope.API, world.liaison.id, 201)
    # the refused call left its body nowhere: the replay is the corrected batch
    assert [t["title"] for t in again.get_json()] == ["停车难", "网络故障"]


def test_a_malformed_key_is_400_before_any_batch_is_filed(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    for path, body in (
        (f"/meetings/{meeting['id']}/requests", {"items": [_item(world)]}),
        ("/visits", _visit_body(world, "停车难")),
    ):
        for key in ("", "k" * 256, "键盘", "tab\there"):
            error_of(liaison.send(path, body, key), 400, "invalid_idempotency_key")
    assert _count(Ticket) == 0 and _count(Visit) == 0 and _keys() == []
    # a meeting the caller may not see is 404 first, whatever the key
    other = Keyed(client, world.other_liaison)
    error_of(other.send(f"/meetings/{meeting['id']}/requests", {"items": []}, "k" * 300), 404, "not_found")


def test_a_keyed_batch_is_one_transaction_and_its_replay_commits_nothing(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}/requests"
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    with commits_counted() as commits:
        assert liaison.send(path, {"items": [_item(world)]}, "one-commit").status_code == 201
    assert len(commits) == 1
    [ticket] = db.session.scalars(select(Ticket))
    [key] = _keys()
    assert (key.ticket_id, key.answered) == (ticket.id, True)
    with commits_counted() as commits:
        assert liaison.send(path, {"items": [_item(world)]}, "one-commit").headers["Idempotent-Replayed"]
    assert commits == []


# --------------------------------------------------------------------------- visits


def test_a_visit_sent_again_with_its_key_is_logged_once_and_answered_the_same(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    body = _visit_body(world, "停车难", "办公室网络")

    first = liaison.send("/visits", body, "visit-0310")
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    again = liaison.send("/visits", body, "visit-0310")
    assert again.status_code == 201, again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith(f"{API}/visits/{first.get_json()['visit']['id']}")
    assert _count(Visit) == 1 and _count(Ticket) == 2
    assert liaison.ok("GET", "/visits")["total"] == 1

    # without a key, the same body logs another visit
    bare = liaison.send("/visits", body)
    assert bare.status_code == 201 and "Idempotent-Replayed" not in bare.headers
    assert bare.get_json()["visit"]["id"] != first.get_json()["visit"]["id"]
    assert liaison.send("/visits", body).status_code == 201
    assert _count(Visit) == 3 and _count(Ticket) == 6


def test_a_visit_without_requests_is_replayed_too(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    first = liaison.send("/visits", _visit_body(world), "just-a-visit")
    again = liaison.send("/visits", _visit_body(world), "just-a-visit")
    assert first.status_code == again.status_code == 201, again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.get_json()["requests"] == []
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(Visit) == 1
    [key] = _keys()
    assert key.ticket_id is None and key.answered


def test_a_visits_key_with_another_body_is_409_and_a_refused_visit_keeps_nothing(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    clock.move_to(AFTER)
    liaison = Keyed(client, world.liaison)
    refused = liaison.send("/visits", _visit_body(world, "停车难", visited_on="2026-03-11"), "v-1")
    assert set(error_of(refused, 400, "validation_failed")["fields"]) == {"visited_on"}
    assert _keys() == [] and _count(Visit) == 0 and _count(Ticket) == 0

    logged = liaison.send("/visits", _visit_body(world, "停车难"), "v-1")
    assert logged.status_code == 201 and "Idempotent-Replayed" not in logged.headers
    other = liaison.send("/visits", _visit_body(world, "停车难", met="李经理"), "v-1")
    assert error_of(other, 409, "idempotency_key_reused")["fields"] == {}
    assert _count(Visit) == 1 and _count(Ticket) == 1
    assert db.session.scalars(select(Visit.met)).one() == "张总（总经理）"


def test_visit_keys_are_each_users_own(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    clock.move_to(AFTER)
    mine = Keyed(client, world.liaison).send("/visits", _visit_body(world, "停车难"), "shared-key")
    theirs = Keyed(client, world.manager).send("/visits", _visit_body(world, "停车难"), "shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["visit"]["liaison"]["username"] == world.manager.username
    assert _count(Visit) == 2
    assert {k.user_id for k in _keys()} == {world.liaison.id, world.manager.id}


def test_the_form_token_and_the_api_key_of_a_visit_are_different_keys(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    """A string once used as a web form's one-time token files anew when sent as an API key."""
    clock.move_to(AFTER)
    form_token = IdempotencyKey(
        user_id=world.liaison.id, scope=IdempotencyScope.FORM, key="typed-twice", fingerprint="visit"
    )
    db.session.add(form_token)
    db.session.commit()
    logged = Keyed(client, world.liaison).send("/visits", _visit_body(world, "停车难"), "typed-twice")
    assert logged.status_code == 201 and "Idempotent-Replayed" not in logged.headers
    assert _count(Visit) == 1


# --------------------------------------------------------------------------- the document


def test_the_document_describes_the_key_of_both_batch_calls(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    tickets = document["paths"]["/api/v1/tickets"]["post"]
    for path in ("/api/v1/meetings/{meeting_id}/requests", "/api/v1/visits"):
        operation = document["paths"][path]["post"]
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        described = {p["name"]: p for p in tickets["parameters"] if p["in"] == "header"}
        assert headers["Idempotency-Key"] == described["Idempotency-Key"], path
        assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255
        assert "409" in operation["responses"], path
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"], path
        assert "Idempotency-Key" in operation["description"], path
