"""The lifecycle table (hotline/tickets/workflow.py) is the one truth: the page offers exactly the actions the
services allow, the API has a route for every action with its fields as the body schema, and the OpenAPI
document's enums are the Python enums."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hotline.api.meeting_schemas import InvitationAnswerValue, MeetingStateChange
from hotline.api.schemas import DayKind, StaffRole
from hotline.audit.models import AuditAction
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises.models import ClaimState, CoverageRole
from hotline.errors import Forbidden, InvalidTransition
from hotline.extensions import db
from hotline.imports.services import RowAction
from hotline.kb.models import ArticleLanguage
from hotline.meetings.models import InvitationResponse, MeetingKind, MeetingState
from hotline.notifications.models import NotificationKind
from hotline.sla.models import DaySource, ExtensionState
from hotline.tickets import services, workflow
from hotline.tickets.models import (
    Channel,
    EventKind,
    FollowupOutcome,
    RatingScore,
    RatingSource,
    Ticket,
    TicketState,
    Urgency,
)
from hotline.tickets.workflow import ACTIONS, Who
from tests import factories
from tests.factories import World
from tests.helpers import login

ACTION_CARD = re.compile(r'id="action-([a-z_]+)"')


def _at(world: World, where: str) -> Ticket:
    now = utcnow()
    if where == "submitted":
        return world.submit(now)
    if where == "assigned":
        ticket = world.submit(now)
        services.assign(ticket.id, world.manager, world.liaison.username, now)
        return ticket
    if where == "in_progress":
        return world.in_progress(now)
    if where == "with_department":
        ticket = world.in_progress(now)
        services.transfer(ticket.id, world.liaison, world.department.code, now)
        return ticket
    if where == "returned":
        ticket = world.in_progress(now)
        services.return_ticket(ticket.id, world.liaison, "不属于本楼宇", now)
        return ticket
    if where == "resolved":
        return world.resolved(now)
    raise AssertionError(where)


PARTIES: dict[str, Callable[[World], User]] = {
    "contact": lambda w: w.contact,
    "assignee": lambda w: w.liaison,
    "department": lambda w: w.department_user,
    "manager": lambda w: w.manager,
    "admin": lambda w: w.admin,
}


def _allowed(ticket: Ticket, user: User) -> set[str]:
    """What the services' guard lets ``user`` do on ``ticket`` now."""
    allowed = set()
    for action in workflow.rows():
        try:
            workflow.check(action.name, ticket, user)
        except (Forbidden, InvalidTransition):
            continue
        allowed.add(action.name)
    return allowed


@pytest.mark.parametrize(
    "where", ["submitted", "assigned", "in_progress", "with_department", "returned", "resolved"]
)
@pytest.mark.parametrize("party", list(PARTIES))
def test_the_page_offers_exactly_what_the_guard_allows(
    client: FlaskClient, world: World, where: str, party: str
) -> None:
    ticket = _at(world, where)
    db.session.commit()
    user = PARTIES[party](world)
    login(client, user.username)
    response = client.get(f"/tickets/{ticket.number}")
    if response.status_code == 404:  # the department sees only what it holds
        assert party == "department" and where != "with_department"
        return
    offered = set(ACTION_CARD.findall(response.get_data(as_text=True)))
    expected = _allowed(ticket, user)
    # the extension actions are narrowed by their feature: one request at a time, a decision only when asked;
    # the follow-up calls by theirs: once the enterprise's time to rate online is over (test_followup_pages);
    # removing a link only when the request has one (test_merge_pages)
    expected -= {"decide_extension", "followup", "followup_unanswered", "unlink"}
    assert offered == expected


def test_managers_may_do_the_work_as_well_as_supervise(client: FlaskClient, world: World) -> None:
    """Settled: a manager (督办) may reply, transfer, hand back and resolve a request in progress, on the
    page as in the services; acknowledging and returning stay the assignee's own acts."""
    ticket = _at(world, "with_department")
    db.session.commit()
    allowed = _allowed(ticket, world.manager)
    assert {"reply", "transfer", "handback", "resolve", "note"} <= allowed
    assert not {"acknowledge", "return", "extend"} & allowed
    login(client, world.manager.username)
    page = client.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert {"reply", "transfer", "handback", "resolve", "note"} <= set(ACTION_CARD.findall(page))


def test_every_action_has_a_bound_service_with_its_fields(app: Flask) -> None:
    for action in workflow.rows():
        assert workflow.bound(action.name), action.name
        assert action.states and action.who and action.events, action.name


def test_a_row_and_its_service_cannot_drift_apart(app: Flask) -> None:
    def takes_too_little(ticket_id: int, actor: User, now: Any) -> None:
        return None

    with pytest.raises(TypeError, match="answer"):
        workflow.bind("resolve", takes_too_little)


# --------------------------------------------------------------------------- the API and its document


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_every_action_is_a_documented_route_with_its_fields_as_the_body(client: FlaskClient) -> None:
    document = _document(client)
    for action in workflow.rows():
        operation = document["paths"][f"/api/v1/tickets/{{number}}/{action.name}"]["post"]
        body = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
        assert set(body.get("properties", {})) == {f.name for f in action.fields}, action.name
        required = {f.name for f in action.fields if f.required}
        assert set(body.get("required", [])) == required, action.name
        assert {"200", "400"} <= set(operation["responses"]), action.name
        for state in action.states:
            assert state.value in operation["description"], (action.name, state)


def _enums(node: Any, path: str = "") -> list[tuple[str, list[Any]]]:
    found: list[tuple[str, list[Any]]] = []
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            found.append((path, node["enum"]))
        for key, value in node.items():
            found += _enums(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _enums(value, f"{path}/{index}")
    return found


ENUMS = {
    frozenset(e.value for e in enum): enum
    for enum in (
        TicketState,
        Urgency,
        Channel,
        RatingScore,
        RatingSource,
        FollowupOutcome,
        EventKind,
        Role,
        ExtensionState,
        NotificationKind,
        DaySource,
        DayKind,
        ClaimState,
        StaffRole,
        CoverageRole,
        RowAction,
        AuditAction,
        MeetingKind,
        MeetingState,
        InvitationResponse,
        InvitationAnswerValue,
        MeetingStateChange,
        ArticleLanguage,
    )
}


def test_every_enum_in_the_document_is_a_python_enum(client: FlaskClient) -> None:
    document = _document(client)
    found = _enums(document)
    assert found
    for path, values in found:
        values = [v for v in values if v is not None]
        assert frozenset(values) in ENUMS, (path, values)
        assert len(values) == len(set(values)), path
    schemas = document["components"]["schemas"]
    assert set(schemas["Ticket"]["properties"]["state"]["enum"]) == {s.value for s in TicketState}
    assert set(schemas["Event"]["properties"]["kind"]["enum"]) == {k.value for k in EventKind}
    assert set(schemas["Ticket"]["properties"]["channel"]["enum"]) == {c.value for c in Channel}
    assert set(schemas["RateBody"]["properties"]["score"]["enum"]) == {s.value for s in RatingScore}


def test_an_action_refused_by_the_guard_is_the_same_sentence_on_page_and_api(
    client: FlaskClient, world: World
) -> None:
    ticket = _at(world, "submitted")
    db.session.commit()
    token = client.post(
        "/api/v1/tokens", json={"username": world.liaison.username, "password": factories.PASSWORD}
    ).get_json()["token"]
    api = client.post(
        f"/api/v1/tickets/{ticket.number}/resolve",
        json={"answer": "已办结"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 409
    message = api.get_json()["error"]["message"]
    with pytest.raises(InvalidTransition) as refused:
        workflow.check("resolve", ticket, world.liaison)
    assert refused.value.message == message
    assert ACTIONS["resolve"].refused  # the sentence lives in the table


# --------------------------------------------------------------------------- the table's promises, kept


VALUES: dict[str, dict[str, Any]] = {
    "assign": {"liaison": "<other>"},
    "review_return": {"accept": False, "note": "属本楼宇，请继续办理"},
    "reply": {"body": "正在协调"},
    "transfer": {"department": "<department>", "note": ""},
    "handback": {"body": "已核实，请答复企业"},
    "extend": {"working_days": 2, "reason": "等待材料"},
    "return": {"reason": "不属于本楼宇"},
    "resolve": {"answer": "已协调解决"},
    "note": {"body": "内部备注"},
    "add_information": {"body": "补充材料"},
    "rate": {"score": "satisfied", "comment": ""},
    "withdraw": {"reason": "已自行解决"},
}
WHERE = {
    "assign": ("assigned", "manager"),
    "review_return": ("returned", "manager"),
    "reply": ("in_progress", "assignee"),
    "transfer": ("in_progress", "assignee"),
    "handback": ("with_department", "department"),
    "extend": ("in_progress", "assignee"),
    "return": ("assigned", "assignee"),
    "resolve": ("in_progress", "assignee"),
    "note": ("resolved", "department"),
    "add_information": ("in_progress", "contact"),
    "rate": ("resolved", "contact"),
    "withdraw": ("submitted", "contact"),
}


@pytest.mark.parametrize("name", sorted(WHERE))
def test_each_action_leaves_the_events_and_state_its_row_promises(
    app: Flask, world: World, name: str
) -> None:
    from sqlalchemy import select

    from hotline.tickets.models import TicketEvent

    where, party = WHERE[name]
    if name == "note":
        where = "with_department"
    ticket = _at(world, where)
    before_state = ticket.state
    before = {e.id for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))}
    values = {
        key: {"<other>": world.other_liaison.username, "<department>": world.department.code}.get(
            value, value
        )
        if isinstance(value, str)
        else value
        for key, value in VALUES[name].items()
    }
    workflow.run(name, ticket.id, PARTIES[party](world), values, utcnow())
    action = ACTIONS[name]
    appended = db.session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.id.not_in(before))
        .order_by(TicketEvent.id)
    ).all()
    assert appended, name
    assert {e.kind for e in appended} <= set(action.events), name
    assert appended[0].kind in action.events, name
    assert appended[0].public == action.public, name
    if action.leads_to:
        assert ticket.state in action.leads_to, name
    else:
        assert ticket.state == before_state, name


def test_staff_never_rate_in_the_enterprises_place(app: Flask, world: World) -> None:
    """A rating by staff is a follow-up call's (hotline.followup), with its record; ``rate`` is the
    enterprise's alone, whatever the score."""
    ticket = world.resolved()
    for score in ("satisfied", "dissatisfied"):
        with pytest.raises(Forbidden):
            services.rate(ticket.id, world.manager, score, "电话回访", utcnow())
    assert db.session.get(Ticket, ticket.id).state == TicketState.RESOLVED  # type: ignore[union-attr]
    assert "followup" in ACTIONS and ACTIONS["rate"].who == (Who.ENTERPRISE,)


def test_subscribers_run_clocks_first_then_routing_then_notifications(app: Flask) -> None:
    from hotline.tickets import events

    order = events.subscribers()
    assert order.index("hotline.sla.lifecycle._start_acknowledge") < order.index(
        "hotline.routing.lifecycle._queue_routing"
    )
    assert order.index("hotline.routing.lifecycle._queue_routing") < order.index(
        "hotline.notifications._notify"
    )
