"""The JSON API under /api/v1 (DESIGN §9), through the Flask test client with real bearer tokens."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from hotline.auth import services as accounts
from hotline.auth.models import User
from hotline.db import utcnow
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket, TicketEvent, TicketState
from tests import factories
from tests.factories import World

API = "/api/v1"
TICKET_KEYS = {
    "number",
    "state",
    "title",
    "description",
    "category",
    "urgency",
    "channel",
    "enterprise",
    "building",
    "assignee",
    "created_at",
    "acknowledge_due_at",
    "resolve_due_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "rating",
}
EVENT_KEYS = {"kind", "from_state", "to_state", "actor", "body", "public", "created_at", "payload"}
NEW_TICKET = {
    "title": "办公楼停车位不足",
    "description": "员工停车困难，希望协调周边停车资源。",
    "urgency": "normal",
    "contact_phone": "13800138000",
}


class Api:
    """A client holding one user's bearer token."""

    def __init__(self, client: FlaskClient, user: User) -> None:
        self.client = client
        response = client.post(
            f"{API}/tokens", json={"username": user.username, "password": factories.PASSWORD}
        )
        assert response.status_code == 201, response.get_json()
        self.token = response.get_json()["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.get(f"{API}{path}", headers={**self.headers, **(headers or {})}, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.post(
            f"{API}{path}", json=body if body is not None else {}, headers=self.headers, **kwargs
        )

    def act(
        self, number: str, action: str, body: dict[str, Any] | None = None, status: int = 200
    ) -> dict[str, Any]:
        response = self.post(f"/tickets/{number}/{action}", body or {})
        assert response.status_code == status, response.get_json()
        data: dict[str, Any] = response.get_json()
        return data


def error_of(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    assert response.is_json
    error: dict[str, Any] = response.get_json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    return error


def ticket_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket)) or 0


def new_ticket(world: World, **fields: Any) -> dict[str, Any]:
    return {"category": world.category.code, **NEW_TICKET, **fields}


# --------------------------------------------------------------------------- the whole story


def test_the_full_story_of_a_request(client: FlaskClient, world: World) -> None:
    enterprise = Api(client, world.contact)
    manager = Api(client, world.manager)
    liaison = Api(client, world.liaison)
    department = Api(client, world.department_user)

    created = enterprise.post("/tickets", new_ticket(world))
    assert created.status_code == 201, created.get_json()
    ticket = created.get_json()
    number = ticket["number"]
    assert re.fullmatch(r"QH\d{8}-\d{4}", number)
    assert created.headers["Location"].endswith(f"{API}/tickets/{number}")
    assert set(ticket) >= TICKET_KEYS
    assert ticket["state"] == "submitted"
    assert ticket["channel"] == "api"
    assert ticket["category"] == world.category.code
    assert ticket["enterprise"] == {
        "name": world.enterprise.name,
        "uscc": world.enterprise.uscc,
        "verified": False,
    }
    assert ticket["building"] == world.building.name
    assert ticket["assignee"] is None
    assert ticket["rating"] is None
    assert ticket["created_at"].endswith("+08:00")
    assert ticket["acknowledged_at"] is None

    ticket = manager.act(
        number, "assign", {"liaison": world.liaison.username, "reason": "该企业投诉较多，需重点跟进"}
    )
    assert ticket["state"] == "assigned"
    assert ticket["assignee"] == {"username": world.liaison.username, "name": world.liaison.name}

    ticket = liaison.act(number, "acknowledge")
    assert ticket["state"] == "in_progress"
    assert ticket["acknowledged_at"].endswith("+08:00")

    ticket = liaison.act(number, "reply", {"body": "已联系物业，正在协调。"})
    assert ticket["state"] == "in_progress"
    liaison.act(number, "note", {"body": "物业经理电话 010-12345678"})
    ticket = liaison.act(number, "transfer", {"department": world.department.code})
    assert ticket["department"] == world.department.code

    ticket = department.act(number, "handback", {"body": "已与交通部门沟通，可提供月租车位。"})
    assert ticket["department"] is None
    assert ticket["state"] == "in_progress"

    ticket = liaison.act(number, "resolve", {"answer": "周边停车场提供 30 个月租车位。"})
    assert ticket["state"] == "resolved"
    assert ticket["answer"] == "周边停车场提供 30 个月租车位。"
    assert ticket["resolved_at"].endswith("+08:00")

    ticket = enterprise.act(number, "rate", {"score": "dissatisfied", "comment": "价格太高"})
    assert ticket["state"] == "in_progress"
    rating = ticket["rating"]
    assert {k: rating[k] for k in ("score", "comment", "source")} == {
        "score": "dissatisfied",
        "comment": "价格太高",
        "source": "enterprise",
    }
    assert rating["recorded_by"]["username"] == world.contact.username
    assert rating["rated_at"].endswith("+08:00")
    assert ticket["resolved_at"] is None

    ticket = liaison.act(number, "resolve", {"answer": "已协调优惠价格。"})
    assert ticket["state"] == "resolved"

    ticket = enterprise.act(number, "rate", {"score": "satisfied", "comment": ""})
    assert ticket["state"] == "closed"
    assert ticket["rating"]["score"] == "satisfied" and ticket["rating"]["comment"] == ""
    assert ticket["closed_at"].endswith("+08:00")

    # The enterprise's timeline: public events only, no internal note and no department hand-back.
    seen = enterprise.get(f"/tickets/{number}")
    assert seen.status_code == 200
    detail = seen.get_json()
    assert TICKET_KEYS | {"events"} <= set(detail)
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds == [
        "submitted",
        "assigned",
        "acknowledged",
        "replied",
        "transferred",
        "resolved",
        "rated",
        "reopened",
        "resolved",
        "rated",
    ]
    assert all(e["public"] for e in detail["events"])
    assert "物业经理电话 010-12345678" not in seen.get_data(as_text=True)
    assert "该企业投诉较多" not in seen.get_data(as_text=True)  # the dispatcher's reason is for staff
    assigned = detail["events"][1]["payload"]
    assert assigned["assignee_name"] == world.liaison.name and "method" not in assigned
    for event in detail["events"]:
        assert set(event) == EVENT_KEYS
        assert event["created_at"].endswith("+08:00")
    assert detail["events"][0]["actor"] == world.contact.name
    assert detail["events"][2] == {
        **detail["events"][2],
        "from_state": "assigned",
        "to_state": "in_progress",
        "actor": world.liaison.name,
    }

    # The liaison sees the whole audit trail, internal note included.
    staff_detail = liaison.get(f"/tickets/{number}").get_json()
    notes = [e for e in staff_detail["events"] if e["kind"] == "noted"]
    assert [n["body"] for n in notes] == ["物业经理电话 010-12345678"]
    assert notes[0]["public"] is False
    assert staff_detail["events"][1]["payload"]["reason"] == "该企业投诉较多，需重点跟进"
    assert "handed_back" in [e["kind"] for e in staff_detail["events"]]


def test_a_liaison_records_a_request_on_behalf_of_an_enterprise(client: FlaskClient, world: World) -> None:
    liaison = Api(client, world.liaison)
    body = new_ticket(world, enterprise_uscc=world.enterprise.uscc, channel="phone")
    response = liaison.post("/tickets", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["channel"] == "phone"
    assert response.get_json()["enterprise"]["uscc"] == world.enterprise.uscc

    missing_channel = liaison.post("/tickets", new_ticket(world, enterprise_uscc=world.enterprise.uscc))
    assert "channel" in error_of(missing_channel, 400, "validation_failed")["fields"]
    assert ticket_count() == 1


def test_withdraw_return_and_review_through_the_api(client: FlaskClient, world: World) -> None:
    number = world.submit().number
    db.session.commit()
    manager = Api(client, world.manager)
    liaison = Api(client, world.liaison)
    enterprise = Api(client, world.contact)

    manager.act(number, "assign", {"liaison": world.liaison.username})
    assert liaison.act(number, "return", {"reason": "不属于本楼宇"})["state"] == "returned"
    bad = manager.post(f"/tickets/{number}/review_return", {"accept": "yes"})
    assert "accept" in error_of(bad, 400, "validation_failed")["fields"]
    assert (
        manager.act(number, "review_return", {"accept": False, "note": "请继续办理"})["state"] == "assigned"
    )
    assert enterprise.act(number, "withdraw", {"reason": "已自行解决"})["state"] == "withdrawn"


# --------------------------------------------------------------------------- refusals


def test_bad_input_is_refused_with_fields_and_nothing_is_saved(client: FlaskClient, world: World) -> None:
    enterprise = Api(client, world.contact)

    response = enterprise.post("/tickets", new_ticket(world, title="  ", contact_phone="12", category="nope"))
    fields = error_of(response, 400, "validation_failed")["fields"]
    assert set(fields) == {"title", "contact_phone", "category"}

    wrong_type = enterprise.post("/tickets", new_ticket(world, title=42, urgency=["urgent"]))
    assert set(error_of(wrong_type, 400, "validation_failed")["fields"]) == {"title", "urgency"}

    malformed = client.post(
        f"{API}/tickets", data="{not json", content_type="application/json", headers=enterprise.headers
    )
    error_of(malformed, 400, "bad_request")
    error_of(enterprise.post("/tickets", ["a", "list"]), 400, "bad_request")
    assert ticket_count() == 0

    number = world.in_progress().number
    db.session.commit()
    events_before = db.session.scalar(select(func.count()).select_from(TicketEvent))
    liaison = Api(client, world.liaison)
    empty_answer = liaison.post(f"/tickets/{number}/resolve", {"answer": "   "})
    assert "answer" in error_of(empty_answer, 400, "validation_failed")["fields"]
    assert db.session.scalar(select(Ticket.state).where(Ticket.number == number)) == TicketState.IN_PROGRESS
    assert db.session.scalar(select(func.count()).select_from(TicketEvent)) == events_before


def test_a_body_over_the_limit_answers_413(app: Flask, client: FlaskClient, world: World) -> None:
    enterprise = Api(client, world.contact)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = enterprise.post("/tickets", new_ticket(world, description="长" * 2000))
    error_of(response, 413, "too_large")
    assert ticket_count() == 0


def test_tokens_are_required_valid_unexpired_and_revocable(client: FlaskClient, world: World) -> None:
    wrong = client.post(
        f"{API}/tokens", json={"username": world.contact.username, "password": "wrong-password"}
    )
    error_of(wrong, 401, "unauthorized")
    error_of(client.post(f"{API}/tokens", data="nope", content_type="application/json"), 400, "bad_request")

    missing = client.get(f"{API}/tickets")
    error_of(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")

    invalid = client.get(f"{API}/tickets", headers={"Authorization": "Bearer not-a-token"})
    error_of(invalid, 401, "unauthorized")
    assert 'error="invalid_token"' in invalid.headers["WWW-Authenticate"]

    old, _row = accounts.issue_token(world.contact, utcnow() - timedelta(hours=48), hours=24)
    db.session.commit()
    error_of(client.get(f"{API}/categories", headers={"Authorization": f"Bearer {old}"}), 401, "unauthorized")

    enterprise = Api(client, world.contact)
    created = client.post(
        f"{API}/tokens", json={"username": world.contact.username, "password": factories.PASSWORD}
    )
    expires_at = created.get_json()["expires_at"]
    assert expires_at.endswith("+08:00")
    lifetime = datetime.fromisoformat(expires_at) - utcnow()
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)
    assert enterprise.get("/categories").status_code == 200
    revoked = client.delete(f"{API}/tokens/current", headers=enterprise.headers)
    assert revoked.status_code == 204
    error_of(enterprise.get("/categories"), 401, "unauthorized")


def test_roles_states_and_visibility_give_403_404_409(client: FlaskClient, world: World) -> None:
    number = world.submit().number
    db.session.commit()
    enterprise = Api(client, world.contact)
    other = Api(client, world.other_contact)
    manager = Api(client, world.manager)
    liaison = Api(client, world.liaison)

    forbidden = enterprise.post(f"/tickets/{number}/assign", {"liaison": world.liaison.username})
    error_of(forbidden, 403, "forbidden")
    error_of(Api(client, world.department_user).post("/tickets", new_ticket(world)), 403, "forbidden")

    error_of(other.get(f"/tickets/{number}"), 404, "not_found")
    error_of(other.post(f"/tickets/{number}/withdraw", {"reason": "x"}), 404, "not_found")
    error_of(enterprise.get("/tickets/QH19990101-9999"), 404, "not_found")
    error_of(enterprise.post(f"/tickets/{number}/escalate"), 404, "not_found")

    manager.act(number, "assign", {"liaison": world.liaison.username})
    liaison.act(number, "acknowledge")
    twice = liaison.post(f"/tickets/{number}/acknowledge")
    error_of(twice, 409, "invalid_transition")
    assert db.session.scalar(select(Ticket.state).where(Ticket.number == number)) == TicketState.IN_PROGRESS


# --------------------------------------------------------------------------- lists


def test_list_is_paginated_newest_first_and_filtered_by_state(client: FlaskClient, world: World) -> None:
    start = utcnow() - timedelta(days=1)
    numbers = [world.submit(start + timedelta(minutes=i)).number for i in range(25)]
    for number in numbers[:3]:
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.number == number))
        assert ticket_id is not None
        tickets.assign(ticket_id, world.manager, world.liaison.username, utcnow())
    db.session.commit()
    enterprise = Api(client, world.contact)

    first = enterprise.get("/tickets").get_json()
    assert (first["page"], first["pages"], first["total"]) == (1, 2, 25)
    assert len(first["items"]) == 20
    assert [t["number"] for t in first["items"]] == numbers[::-1][:20]
    assert set(first["items"][0]) >= TICKET_KEYS

    last = enterprise.get("/tickets", query_string={"page": 3, "per_page": 10}).get_json()
    assert (last["page"], last["pages"], len(last["items"])) == (3, 3, 5)
    assert [t["number"] for t in last["items"]] == numbers[4::-1]

    assigned = enterprise.get("/tickets", query_string={"state": "assigned"}).get_json()
    assert assigned["total"] == 3
    assert {t["number"] for t in assigned["items"]} == set(numbers[:3])

    assert "state" in error_of(enterprise.get("/tickets?state=lost"), 400, "validation_failed")["fields"]
    assert "per_page" in error_of(enterprise.get("/tickets?per_page=101"), 400, "validation_failed")["fields"]
    assert "page" in error_of(enterprise.get("/tickets?page=zero"), 400, "validation_failed")["fields"]

    # Only what the caller may see.
    assert Api(client, world.other_contact).get("/tickets").get_json()["total"] == 0
    assert Api(client, world.other_liaison).get("/tickets").get_json()["total"] == 0
    assert Api(client, world.liaison).get("/tickets").get_json()["total"] == 25


def test_categories_are_active_ordered_and_named_in_the_callers_language(
    client: FlaskClient, world: World
) -> None:
    second = factories.category(code="parking", name="交通停车")
    second.sort_order = 2
    world.category.sort_order = 1
    hidden = factories.category(code="old")
    hidden.active = False
    db.session.commit()
    enterprise = Api(client, world.contact)

    refresh()  # the test client shares one app context, so forget the locale of the previous request
    chinese = enterprise.get("/categories", headers={"Accept-Language": "zh-CN"}).get_json()
    assert chinese == [
        {"code": world.category.code, "name": world.category.name},
        {"code": "parking", "name": "交通停车"},
    ]
    refresh()
    english = enterprise.get("/categories", headers={"Accept-Language": "en"}).get_json()
    assert english == [
        {"code": world.category.code, "name": world.category.name_en},
        {"code": "parking", "name": second.name_en},
    ]


# --------------------------------------------------------------------------- the document


def _flask_path_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_openapi_document_describes_every_route(app: Flask, client: FlaskClient) -> None:
    response = client.get(f"{API}/openapi.json")  # no token needed
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert {"Ticket", "Event", "Error"} <= set(document["components"]["schemas"])
    assert set(document["components"]["schemas"]["Ticket"]["properties"]) >= TICKET_KEYS
    assert set(document["components"]["schemas"]["Event"]["properties"]) >= EVENT_KEYS

    routes = {
        (_flask_path_to_openapi(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(f"{API}/") and rule.rule != f"{API}/openapi.json"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    http_methods = {"get", "post", "put", "patch", "delete"}
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in http_methods
    }
    assert routes, "no API routes registered"
    assert routes == documented

    for ref in _refs(document):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert node, ref


@pytest.mark.parametrize("path", ["/tickets", "/categories", "/tickets/QH20260101-0001"])
def test_reading_needs_a_token(client: FlaskClient, path: str) -> None:
    response = client.get(f"{API}{path}")
    error_of(response, 401, "unauthorized")
