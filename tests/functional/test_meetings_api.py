"""The field work through the API (issue 12): meetings scheduled, answered and asked about in advance, their
minutes and the requests raised at the table (all or nothing), the follow-up agenda, visits, and the meeting
or visit every request's JSON names — with real bearer tokens, as another system would call it.

The calendar of 2026 is loaded; a tea meeting at 08:30 on Tuesday 10 March 2026 (Shanghai), scheduled the
week before; time is frozen and moved on as the story goes (a token lasts a day: each phase logs in anew).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from werkzeug.test import TestResponse

from hotline.auth.models import User
from hotline.enterprises.models import Enterprise
from hotline.extensions import db
from hotline.meetings.models import Meeting, MeetingQuestion, TicketOrigin
from hotline.sla import services as sla
from hotline.tickets.models import Ticket
from tests import factories
from tests.factories import World
from tests.functional.test_api import API, Api, error_of
from tests.functional.test_hostile_input import like_postgres  # noqa: F401 (a fixture, used by name)

SCHEDULED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 3 March, 10:00 in Shanghai
STARTS = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # Tuesday 10 March, 08:30 in Shanghai
AFTER = STARTS + timedelta(hours=2)
ENGLISH = {"Accept-Language": "en"}
HUGE = "99999999999999999999999"
MEETING_KEYS = {
    "id",
    "kind",
    "title",
    "starts_at",
    "ends_at",
    "place",
    "state",
    "street",
    "buildings",
    "host",
    "departments",
    "description",
    "minutes",
    "held_at",
    "invitations",
    "requests_raised",
}
QUESTION_KEYS = {
    "id",
    "enterprise",
    "category",
    "title",
    "description",
    "contact_phone",
    "urgency",
    "created_at",
    "ticket",
}


class Caller(Api):
    """A token holder whose answers are in English, with every method."""

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.open(
            f"{API}{path}", method=method, json=body, headers={**self.headers, **ENGLISH}, **kwargs
        )

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.call(method, path, body)
        assert response.status_code == status, response.get_json()
        return response.get_json()


@pytest.fixture
def clock(app: Any) -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(SCHEDULED, tick=False) as traveller:
        sla.sync_calendar_from_package(SCHEDULED, years=[2026])
        db.session.commit()
        yield traveller


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _schedule_body(world: World, **values: Any) -> dict[str, Any]:
    return {
        "kind": "tea_meeting",
        "title": "三月政企早茶会",
        "starts_at": "2026-03-10 08:30",
        "place": "大厦一楼会议室",
        "buildings": [world.building.id],
        "invite_buildings": [world.building.id],
        "departments": [world.department.code],
        **values,
    }


def _schedule(client: FlaskClient, world: World, **values: Any) -> dict[str, Any]:
    meeting: dict[str, Any] = Caller(client, world.liaison).ok(
        "POST", "/meetings", _schedule_body(world, **values), status=201
    )
    return meeting


def _item(world: World, enterprise: Enterprise | None = None, **values: Any) -> dict[str, Any]:
    return {
        "enterprise_uscc": (enterprise or world.enterprise).uscc,
        "category": world.category.code,
        "title": "园区道路照明不足",
        "description": "晚上下班时园区道路太暗。",
        "contact_phone": "13800138000",
        "urgency": "normal",
        **values,
    }


def _ticket_total(user: User, client: FlaskClient) -> int:
    total: int = Caller(client, user).ok("GET", "/tickets")["total"]
    return total


# --------------------------------------------------------------------------- scheduling and seeing


def test_a_liaison_schedules_a_meeting_and_each_reader_sees_what_is_theirs(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    second = factories.enterprise(world.building, name="乙方科技")
    factories.enterprise_user(second)
    liaison = Caller(client, world.liaison)

    made = liaison.call("POST", "/meetings", _schedule_body(world))
    assert made.status_code == 201, made.get_json()
    meeting = made.get_json()
    assert set(meeting) == MEETING_KEYS
    assert made.headers["Location"].endswith(f"{API}/meetings/{meeting['id']}")
    assert meeting["kind"] == "tea_meeting" and meeting["state"] == "scheduled"
    assert meeting["starts_at"] == "2026-03-10T08:30:00+08:00"
    assert meeting["ends_at"] == "2026-03-10T10:00:00+08:00"  # 90 minutes by default
    assert meeting["host"] == {"username": world.liaison.username, "name": world.liaison.name}
    assert meeting["buildings"] == [{"id": world.building.id, "name": world.building.name}]
    assert meeting["departments"] == [{"code": world.department.code, "name": world.department.name_en}]
    assert meeting["street"] is None and meeting["held_at"] is None and meeting["requests_raised"] == 0
    invited = {i["enterprise"]["uscc"]: i for i in meeting["invitations"]}
    assert set(invited) == {world.enterprise.uscc, second.uscc}
    assert invited[world.enterprise.uscc] == {
        "enterprise": {"uscc": world.enterprise.uscc, "name": world.enterprise.name},
        "invited": True,
        "response": "pending",
        "responded_at": None,
        "attended": None,
    }

    # the invited enterprise sees the meeting with its own invitation only
    mine = Caller(client, world.contact).ok("GET", "/meetings")
    assert (mine["total"], mine["page"], mine["pages"]) == (1, 1, 1)
    [seen] = mine["items"]
    assert [i["enterprise"]["uscc"] for i in seen["invitations"]] == [world.enterprise.uscc]
    one = Caller(client, world.contact).ok("GET", f"/meetings/{meeting['id']}")
    assert [i["enterprise"]["uscc"] for i in one["invitations"]] == [world.enterprise.uscc]

    # another building's liaison and enterprise: nothing, and the meeting is not there for them
    for outsider in (world.other_liaison, world.other_contact):
        other = Caller(client, outsider)
        assert other.ok("GET", "/meetings")["total"] == 0
        error_of(other.call("GET", f"/meetings/{meeting['id']}"), 404, "not_found")
        error_of(other.call("PATCH", f"/meetings/{meeting['id']}", {"title": "x"}), 404, "not_found")
    # the department attending sees it; a manager sees everything
    assert Caller(client, world.department_user).ok("GET", "/meetings")["total"] == 1
    assert Caller(client, world.manager).ok("GET", "/meetings")["total"] == 1


def test_the_list_filters_by_day_and_state(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    march = _schedule(client, world)
    april = _schedule(client, world, starts_at="2026-04-14 08:30", title="四月政企早茶会")
    liaison = Caller(client, world.liaison)
    listed = liaison.ok("GET", "/meetings")
    assert [m["id"] for m in listed["items"]] == [april["id"], march["id"]]  # latest first
    assert [m["id"] for m in liaison.ok("GET", "/meetings?from=2026-04-01")["items"]] == [april["id"]]
    assert [m["id"] for m in liaison.ok("GET", "/meetings?to=2026-03-10")["items"]] == [march["id"]]
    assert liaison.ok("GET", "/meetings?state=held")["total"] == 0
    refused = error_of(liaison.call("GET", "/meetings?from=2026-13-01&state=party"), 400, "validation_failed")
    assert set(refused["fields"]) == {"from", "state"}
    assert refused["fields"]["from"] == "Give the day as YYYY-MM-DD."


def test_a_refused_schedule_names_every_field_and_saves_nothing(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    liaison = Caller(client, world.liaison)
    body = _schedule_body(world, kind="party", title="", starts_at="next tuesday", place="", host="someone")
    refused = error_of(liaison.call("POST", "/meetings", body), 400, "validation_failed")
    assert set(refused["fields"]) >= {"kind", "title", "starts_at", "place", "host"}
    assert refused["fields"]["starts_at"] == "Give the time as YYYY-MM-DD HH:MM."
    assert refused["fields"]["title"] == "This field is required."
    late = error_of(
        liaison.call("POST", "/meetings", _schedule_body(world, ends_at="2026-03-10 08:00")),
        400,
        "validation_failed",
    )
    assert late["fields"] == {"ends_at": "The meeting ends after it starts."}
    assert _count(Meeting) == 0
    # an enterprise schedules nothing
    error_of(Caller(client, world.contact).call("POST", "/meetings", _schedule_body(world)), 403, "forbidden")


def test_a_liaison_invites_only_the_enterprises_of_its_buildings(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    liaison = Caller(client, world.liaison)
    outside = _schedule_body(world, invite=[world.other_enterprise.uscc], invite_buildings=[])
    refused = error_of(liaison.call("POST", "/meetings", outside), 400, "validation_failed")
    assert "building the meeting serves" in refused["fields"]["invite"]
    other_building = _schedule_body(
        world, buildings=[world.other_enterprise.building_id], invite_buildings=[]
    )
    refused = error_of(liaison.call("POST", "/meetings", other_building), 400, "validation_failed")
    assert "buildings it covers" in refused["fields"]["buildings"]
    assert _count(Meeting) == 0
    # a manager schedules for the street and may invite any of its enterprises
    manager = Caller(client, world.manager)
    street = _schedule_body(
        world,
        buildings=[],
        street=world.street.code,
        host=world.liaison.username,
        invite=[world.enterprise.uscc, world.other_enterprise.uscc],
        invite_buildings=[],
    )
    made = manager.ok("POST", "/meetings", street, status=201)
    assert made["street"] == world.street.code and len(made["invitations"]) == 2
    assert made["host"]["username"] == world.liaison.username


def test_the_host_moves_renames_and_cancels_and_the_enterprise_loses_sight_of_it(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}"
    liaison = Caller(client, world.liaison)
    moved = liaison.ok(
        "PATCH", path, {"starts_at": "2026-03-11 09:00", "title": "改期的早茶会", "place": None}
    )
    assert (moved["title"], moved["starts_at"]) == ("改期的早茶会", "2026-03-11T09:00:00+08:00")
    assert moved["place"] == meeting["place"]  # null leaves it as it is
    refused = error_of(liaison.call("PATCH", path, {"state": "held"}), 400, "validation_failed")
    assert "state" in refused["fields"]
    error_of(Caller(client, world.contact).call("PATCH", path, {"title": "x"}), 403, "forbidden")
    cancelled = liaison.ok("PATCH", path, {"state": "cancelled"})
    assert cancelled["state"] == "cancelled"
    error_of(Caller(client, world.contact).call("GET", path), 404, "not_found")
    assert Caller(client, world.contact).ok("GET", "/meetings")["total"] == 0


# --------------------------------------------------------------------------- the enterprise's side


def test_the_invited_enterprise_answers_and_sends_questions_that_it_alone_and_staff_see(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    second = factories.enterprise(world.building, name="乙方科技")
    second_contact = factories.enterprise_user(second)
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}"
    contact = Caller(client, world.contact)

    answered = contact.ok("POST", f"{path}/response", {"response": "declined"})
    assert answered["enterprise"]["uscc"] == world.enterprise.uscc
    assert (answered["response"], answered["responded_at"]) == ("declined", "2026-03-03T10:00:00+08:00")
    refused = error_of(
        contact.call("POST", f"{path}/response", {"response": "maybe"}), 400, "validation_failed"
    )
    assert refused["fields"] == {"response": "Say whether you will attend: confirmed or declined."}
    error_of(
        Caller(client, world.liaison).call("POST", f"{path}/response", {"response": "confirmed"}),
        403,
        "forbidden",
    )

    question = {
        "category": world.category.code,
        "title": "人才公寓申请",
        "description": "申请流程和条件？",
        "contact_phone": "13800138000",
        "urgency": "normal",
    }
    asked = contact.call("POST", f"{path}/questions", question)
    assert asked.status_code == 201, asked.get_json()
    body = asked.get_json()
    assert set(body) == QUESTION_KEYS
    assert body["enterprise"] == {"uscc": world.enterprise.uscc, "name": world.enterprise.name}
    assert (body["category"], body["title"], body["ticket"]) == (world.category.code, "人才公寓申请", None)
    assert _count(Ticket) == 0  # a draft, not a request
    bad = error_of(contact.call("POST", f"{path}/questions", {"title": ""}), 400, "validation_failed")
    assert {"category", "title", "description", "contact_phone"} <= set(bad["fields"])
    Caller(client, second_contact).ok("POST", f"{path}/questions", {**question, "title": "停车"}, status=201)

    assert [q["title"] for q in contact.ok("GET", f"{path}/questions")] == ["人才公寓申请"]
    assert [q["title"] for q in Caller(client, world.liaison).ok("GET", f"{path}/questions")] == [
        "人才公寓申请",
        "停车",
    ]
    error_of(Caller(client, world.other_contact).call("GET", f"{path}/questions"), 404, "not_found")
    error_of(Caller(client, world.liaison).call("POST", f"{path}/questions", question), 403, "forbidden")


# --------------------------------------------------------------------------- minutes and batch intake


def test_five_requests_at_the_table_one_answered_each_carrying_the_meeting(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    third = factories.enterprise(world.building, name="丙方物流")
    meeting = _schedule(client, world)
    clock.move_to(AFTER)
    liaison = Caller(client, world.liaison)
    items = [
        _item(world, title="停车难"),
        _item(world, title="招聘补贴", answer="现场答复：符合条件，下周可申报。"),
        _item(world, title="网络故障"),
        _item(world, enterprise=third, title="电梯维修"),
        _item(world, enterprise=third, title="政策咨询", urgency="urgent"),
    ]
    filed = liaison.call("POST", f"/meetings/{meeting['id']}/requests", {"items": items})
    assert filed.status_code == 201, filed.get_json()
    tickets = filed.get_json()
    assert [t["title"] for t in tickets] == ["停车难", "招聘补贴", "网络故障", "电梯维修", "政策咨询"]
    assert [t["state"] for t in tickets] == ["submitted", "resolved", "submitted", "submitted", "submitted"]
    assert {(t["meeting"], t["visit"], t["channel"]) for t in tickets} == {
        (meeting["id"], None, "tea_meeting")
    }
    assert tickets[1]["answer"] == "现场答复：符合条件，下周可申报。"
    assert tickets[1]["assignee"]["username"] == world.liaison.username
    assert tickets[4]["urgency"] == "urgent" and tickets[3]["enterprise"]["uscc"] == third.uscc

    held = liaison.ok("GET", f"/meetings/{meeting['id']}")
    assert (held["state"], held["requests_raised"]) == ("held", 5)
    assert held["held_at"] == "2026-03-10T10:30:00+08:00"
    assert {i["enterprise"]["uscc"]: i["attended"] for i in held["invitations"]} == {
        world.enterprise.uscc: True,
        third.uscc: True,  # came without an invitation
    }

    # every ticket's JSON names the meeting, in the list and in the detail; a web filing names none
    web = world.submit(AFTER)
    db.session.commit()
    listed = {t["number"]: t for t in Caller(client, world.manager).ok("GET", "/tickets")["items"]}
    assert {listed[t["number"]]["meeting"] for t in tickets} == {meeting["id"]}
    assert (listed[web.number]["meeting"], listed[web.number]["visit"]) == (None, None)
    detail = Caller(client, world.contact).ok("GET", f"/tickets/{tickets[1]['number']}")
    assert (detail["meeting"], detail["visit"]) == (meeting["id"], None)
    # the enterprise rates the answer given at the table, and the answer still names the meeting
    rated = Caller(client, world.contact).ok(
        "POST", f"/tickets/{tickets[1]['number']}/rate", {"score": "satisfied", "comment": "很快"}
    )
    assert (rated["state"], rated["meeting"]) == ("closed", meeting["id"])


def test_one_bad_item_saves_nothing_and_is_named_at_its_row(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}/requests"
    clock.move_to(AFTER)
    liaison = Caller(client, world.liaison)
    before = _ticket_total(world.manager, client)

    items = [_item(world), _item(world, title=""), _item(world, enterprise=world.other_enterprise)]
    refused = error_of(liaison.call("POST", path, {"items": items}), 400, "validation_failed")
    assert refused["fields"] == {
        "items.1.title": "This field is required.",
        "items.2.enterprise_uscc": "This enterprise is not in a building the meeting serves.",
    }
    # the body's own checks name the row too: a wrong type, a row that is no object
    typed = error_of(
        liaison.call("POST", path, {"items": [_item(world), _item(world, title=5), "停车难"]}),
        400,
        "validation_failed",
    )
    assert typed["fields"] == {
        "items.1.title": "Must be a string.",
        "items.2": "Each request is an object of fields.",
    }
    empty = error_of(liaison.call("POST", path, {"items": []}), 400, "validation_failed")
    assert empty["fields"] == {"items": "Enter at least one request."}

    assert _ticket_total(world.manager, client) == before
    assert _count(TicketOrigin) == 0
    assert liaison.ok("GET", f"/meetings/{meeting['id']}")["state"] == "scheduled"
    # only the meeting's host (or a manager) enters them
    error_of(Caller(client, world.contact).call("POST", path, {"items": [_item(world)]}), 403, "forbidden")


def test_minutes_record_who_came_and_a_question_is_filed_from_them(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    second = factories.enterprise(world.building, name="乙方科技")
    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}"
    question = Caller(client, world.contact).ok(
        "POST",
        f"{path}/questions",
        {
            "category": world.category.code,
            "title": "人才公寓",
            "description": "流程？",
            "contact_phone": "13800138000",
        },
        status=201,
    )
    liaison = Caller(client, world.liaison)
    early = error_of(liaison.call("POST", f"{path}/minutes", {"attended": []}), 400, "validation_failed")
    assert "has not begun" in early["message"]

    clock.move_to(AFTER)
    liaison = Caller(client, world.liaison)
    minutes = liaison.ok(
        "POST", f"{path}/minutes", {"attended": [world.enterprise.uscc], "minutes": "交流了人才公寓的问题。"}
    )
    assert (minutes["state"], minutes["minutes"]) == ("held", "交流了人才公寓的问题。")
    assert {i["enterprise"]["uscc"]: i["attended"] for i in minutes["invitations"]} == {
        world.enterprise.uscc: True,
        second.uscc: False,
    }
    [ticket] = liaison.ok(
        "POST", f"{path}/requests", {"items": [_item(world, question=question["id"])]}, status=201
    )
    [filed] = liaison.ok("GET", f"{path}/questions")
    assert filed["ticket"] == ticket["number"]
    again = error_of(
        liaison.call("POST", f"{path}/requests", {"items": [_item(world, question=question["id"])]}),
        400,
        "validation_failed",
    )
    assert "already filed" in again["fields"]["items.0.question"]


# --------------------------------------------------------------------------- the follow-up agenda


def test_the_next_meetings_agenda_shows_the_open_requests_of_the_previous_one(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    first = _schedule(client, world)
    clock.move_to(AFTER)
    liaison = Caller(client, world.liaison)
    items = [_item(world, title=f"问题{k}") for k in range(4)] + [
        _item(world, title="当场答复", answer="已答复")
    ]
    filed = liaison.ok("POST", f"/meetings/{first['id']}/requests", {"items": items}, status=201)
    Caller(client, world.contact).ok(
        "POST", f"/tickets/{filed[4]['number']}/rate", {"score": "basically_satisfied", "comment": "还行"}
    )
    second = _schedule(client, world, starts_at="2026-04-14 08:30", title="四月政企早茶会")

    agenda = liaison.ok("GET", f"/meetings/{second['id']}/agenda")
    assert set(agenda) == {"meeting", "previous_meeting", "since", "enterprises", "truncated", "left_out"}
    assert agenda["meeting"]["id"] == second["id"] and set(agenda["meeting"]) == MEETING_KEYS
    assert agenda["previous_meeting"] == {
        "id": first["id"],
        "title": "三月政企早茶会",
        "starts_at": "2026-03-10T08:30:00+08:00",
    }
    assert agenda["since"] == "2026-03-10T08:30:00+08:00" and agenda["truncated"] is False
    [entry] = agenda["enterprises"]
    assert (entry["uscc"], entry["name"], entry["building"]) == (
        world.enterprise.uscc,
        world.enterprise.name,
        world.building.name,
    )
    assert entry["attended_previous"] is True
    assert [t["title"] for t in entry["open"]] == ["问题0", "问题1", "问题2", "问题3"]
    assert [t["number"] for t in entry["open"]] == [t["number"] for t in filed[:4]]
    assert set(entry["open"][0]) == {
        "number",
        "title",
        "state",
        "category",
        "created_at",
        "acknowledge_due_at",
        "resolve_due_at",
    }
    assert (entry["open"][0]["state"], entry["open"][0]["category"]) == ("submitted", world.category.code)
    assert entry["resolved"] == [
        {
            "number": filed[4]["number"],
            "title": "当场答复",
            "state": "closed",
            "resolved_at": "2026-03-10T10:30:00+08:00",
            "rating": {"score": "basically_satisfied", "comment": "还行"},
        }
    ]
    # the agenda lists other enterprises' requests: not for an invited enterprise, nor another liaison
    error_of(Caller(client, world.contact).call("GET", f"/meetings/{second['id']}/agenda"), 403, "forbidden")
    department = Caller(client, world.department_user)  # it attends the meeting, handles none of these
    assert department.ok("GET", f"/meetings/{second['id']}")["id"] == second["id"]
    error_of(department.call("GET", f"/meetings/{second['id']}/agenda"), 403, "forbidden")
    error_of(
        Caller(client, world.other_liaison).call("GET", f"/meetings/{second['id']}/agenda"), 404, "not_found"
    )


# --------------------------------------------------------------------------- visits


def test_a_visit_with_its_requests_is_logged_and_listed_and_another_liaison_sees_nothing(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    clock.move_to(AFTER)
    liaison = Caller(client, world.liaison)
    body = {
        "enterprise_uscc": world.enterprise.uscc,
        "visited_on": "2026-03-10",
        "met": "张总（总经理）",
        "notes": "了解了扩租需求。",
        "items": [
            {k: v for k, v in _item(world).items() if k != "enterprise_uscc"},
            {
                k: v
                for k, v in _item(world, title="办公室网络", answer="已现场协调").items()
                if k != "enterprise_uscc"
            },
        ],
    }
    logged = liaison.call("POST", "/visits", body)
    assert logged.status_code == 201, logged.get_json()
    answer = logged.get_json()
    visit = answer["visit"]
    assert logged.headers["Location"].endswith(f"{API}/visits/{visit['id']}")
    assert visit["enterprise"] == {"uscc": world.enterprise.uscc, "name": world.enterprise.name}
    assert visit["building"] == {"id": world.building.id, "name": world.building.name}
    assert visit["liaison"]["username"] == world.liaison.username
    assert (visit["visited_on"], visit["met"], visit["notes"]) == (
        "2026-03-10",
        "张总（总经理）",
        "了解了扩租需求。",
    )
    assert visit["requests"] == [t["number"] for t in answer["requests"]]
    assert [(t["channel"], t["visit"], t["meeting"]) for t in answer["requests"]] == [
        ("visit", visit["id"], None)
    ] * 2
    assert [t["state"] for t in answer["requests"]] == ["submitted", "resolved"]

    listed = liaison.ok("GET", "/visits")
    assert listed["total"] == 1 and listed["items"] == [visit]
    assert liaison.ok("GET", f"/visits?enterprise={world.enterprise.uscc.lower()}")["total"] == 1
    assert liaison.ok("GET", f"/visits?enterprise={world.other_enterprise.uscc}")["total"] == 0
    detail = liaison.ok("GET", f"/visits/{visit['id']}")
    assert detail["visit"] == visit and [t["visit"] for t in detail["requests"]] == [visit["id"]] * 2
    ticket = Caller(client, world.contact).ok("GET", f"/tickets/{answer['requests'][0]['number']}")
    assert (ticket["visit"], ticket["meeting"]) == (visit["id"], None)
    # the enterprise sees the visits it had
    assert Caller(client, world.contact).ok("GET", "/visits")["total"] == 1

    other = Caller(client, world.other_liaison)
    assert other.ok("GET", "/visits")["total"] == 0
    error_of(other.call("GET", f"/visits/{visit['id']}"), 404, "not_found")
    refused = error_of(other.call("POST", "/visits", {**body, "items": []}), 400, "validation_failed")
    assert refused["fields"] == {"enterprise_uscc": "This enterprise is not in a building you cover."}


def test_a_refused_visit_names_its_fields_and_rows_and_saves_nothing(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    clock.move_to(AFTER)
    liaison = Caller(client, world.liaison)
    before = _ticket_total(world.manager, client)
    body = {
        "enterprise_uscc": world.enterprise.uscc,
        "visited_on": "2026-03-11",  # tomorrow
        "met": "",
        "items": [{k: v for k, v in _item(world, contact_phone="12").items() if k != "enterprise_uscc"}],
    }
    refused = error_of(liaison.call("POST", "/visits", body), 400, "validation_failed")
    assert set(refused["fields"]) == {"visited_on", "met", "items.0.contact_phone"}
    assert liaison.ok("GET", "/visits")["total"] == 0
    assert _ticket_total(world.manager, client) == before
    error_of(Caller(client, world.contact).call("POST", "/visits", body), 403, "forbidden")


# --------------------------------------------------------------------------- hostile bodies


@pytest.mark.usefixtures("like_postgres")  # what PostgreSQL would refuse fails here too
def test_hostile_bodies_and_ids_are_400_or_404_never_500(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    meeting = _schedule(client, world)
    clock.move_to(AFTER)
    liaison = Caller(client, world.liaison)
    path = f"/meetings/{meeting['id']}"

    not_a_list = error_of(
        liaison.call("POST", f"{path}/requests", {"items": "停车难"}), 400, "validation_failed"
    )
    assert not_a_list["fields"] == {"items": "A list is needed."}
    nested = error_of(
        liaison.call("POST", f"{path}/requests", {"items": [_item(world, title={"a": {"b": [1]}})]}),
        400,
        "validation_failed",
    )
    assert set(nested["fields"]) == {"items.0.title"}
    nul = error_of(
        liaison.call(
            "POST",
            f"{path}/requests",
            {"items": [_item(world, enterprise_uscc="9111\x000000", category="a\x00b")]},
        ),
        400,
        "validation_failed",
    )
    assert set(nul["fields"]) == {"items.0.enterprise_uscc", "items.0.category"}
    huge_question = error_of(
        liaison.call("POST", f"{path}/requests", {"items": [_item(world, question=int(HUGE))]}),
        400,
        "validation_failed",
    )
    assert set(huge_question["fields"]) == {"items.0.question"}
    huge_ids = error_of(
        liaison.call(
            "POST", "/meetings", _schedule_body(world, buildings=[int(HUGE)], invite_buildings=[2**70])
        ),
        400,
        "validation_failed",
    )
    assert {"buildings", "invite_buildings"} <= set(huge_ids["fields"])
    wrong_types = error_of(
        liaison.call(
            "POST", "/meetings", _schedule_body(world, buildings="1", invite=[{"a": 1}], title=["x"])
        ),
        400,
        "validation_failed",
    )
    assert {"buildings", "invite", "title"} <= set(wrong_types["fields"])
    nul_title = error_of(
        liaison.call("PATCH", path, {"title": "早茶\x00会", "starts_at": "0001-01-01 00:00"}),
        400,
        "validation_failed",
    )
    assert set(nul_title["fields"]) == {"title"}
    far = error_of(liaison.call("PATCH", path, {"starts_at": "0001-01-01 00:00"}), 400, "validation_failed")
    assert set(far["fields"]) == {"starts_at"}
    error_of(liaison.call("POST", "/visits", {"items": {"a": [None]}}), 400, "validation_failed")
    deep = liaison.call(
        "POST", f"{path}/minutes", data=b'{"a": ' * 1000 + b"1" + b"}" * 1000, content_type="application/json"
    )
    error_of(deep, 400, "bad_request")
    error_of(liaison.call("POST", f"{path}/minutes", ["not", "an", "object"]), 400, "bad_request")

    for url in (
        f"/meetings/{HUGE}",
        f"/meetings/{HUGE}/agenda",
        f"/meetings/{HUGE}/questions",
        "/meetings/0",
        f"/visits/{HUGE}",
    ):
        error_of(liaison.call("GET", url), 404, "not_found")
    for url in (f"/meetings/{HUGE}/requests", f"/meetings/{2**63 - 1}/response", f"/meetings/{HUGE}/minutes"):
        error_of(liaison.call("POST", url, {"items": "x"}), 404, "not_found")
    error_of(liaison.call("GET", f"/meetings?page={HUGE}"), 400, "validation_failed")
    error_of(liaison.call("GET", "/visits?enterprise=%00"), 400, "validation_failed")
    assert _count(Ticket) == 0 and _count(MeetingQuestion) == 0


@pytest.mark.usefixtures("like_postgres")
def test_each_field_of_each_write_given_a_hostile_value_is_a_400_and_saves_nothing(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    """A good body with one field made hostile at a time, for each write on a real meeting: each is refused
    at that field (or its row), nothing else goes wrong, nothing is saved."""
    from tests.functional.test_hostile_input import JSON_VALUES

    meeting = _schedule(client, world)
    path = f"/meetings/{meeting['id']}"
    row = _item(world, answer="现场答复", question=None)
    visit_row = {k: v for k, v in row.items() if k not in ("enterprise_uscc", "question")}
    question = {k: v for k, v in row.items() if k not in ("enterprise_uscc", "question", "answer")}
    update = {
        "title": "新标题",
        "place": "新地点",
        "description": "说明",
        "starts_at": "2026-03-10 09:00",
        "ends_at": "2026-03-10 10:00",
        "uninvite": [],
        "state": "cancelled",
        **{k: v for k, v in _schedule_body(world).items() if k not in ("title", "starts_at", "place")},
    }
    visit = {
        "enterprise_uscc": world.enterprise.uscc,
        "visited_on": "2026-03-10",
        "met": "张总",
        "notes": "n",
    }
    before = [  # (who, method, url, good body, the row's key, a good row) before the meeting
        (world.liaison, "POST", "/meetings", _schedule_body(world), None, None),
        (world.liaison, "PATCH", path, update, None, None),
        (world.contact, "POST", f"{path}/response", {"response": "confirmed"}, None, None),
        (world.contact, "POST", f"{path}/questions", question, None, None),
    ]
    after = [
        (
            world.liaison,
            "POST",
            f"{path}/minutes",
            {"attended": [world.enterprise.uscc], "minutes": "m"},
            None,
            None,
        ),
        (world.liaison, "POST", f"{path}/requests", {}, "items", row),
        (world.liaison, "POST", "/visits", visit, "items", visit_row),
    ]
    calls = 0
    for phase in (before, after):
        if phase is after:
            clock.move_to(AFTER)
        for who, method, url, good, rows, good_row in phase:
            caller = Caller(client, who)
            bodies: list[tuple[str, dict[str, Any]]] = []
            base = {**good, rows: [good_row]} if rows else good
            for value in JSON_VALUES:
                bodies += [(name, {**base, name: value}) for name in good]
                if rows:
                    bodies.append((rows, {**base, rows: value}))
                    bodies.append((f"{rows}.0", {**base, rows: [value]}))
                    bodies += [
                        (f"{rows}.0.{name}", {**base, rows: [{**good_row, name: value}]}) for name in good_row
                    ]
            for name, body in bodies:
                calls += 1
                response = caller.call(method, url, body)
                assert response.status_code == 400, (method, url, name, response.get_json())
                fields = response.get_json()["error"]["fields"]
                assert name in fields or any(f.startswith(f"{name}.") for f in fields), (url, name, fields)
    assert calls > 200  # the walk walked
    assert _count(Ticket) == 0 and _count(MeetingQuestion) == 0 and _count(Meeting) == 1
    assert Caller(client, world.liaison).ok("GET", path)["state"] == "scheduled"


# --------------------------------------------------------------------------- the tickets' list stays bounded


def _statements_of(client: FlaskClient, path: str, headers: dict[str, str]) -> int:
    seen: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):  # not the tests' savepoints
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        response = client.get(f"{API}{path}", headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    assert response.status_code == 200, response.get_json()
    return len(seen)


def test_the_ticket_list_reads_the_origins_of_a_page_in_one_query(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    manager = Caller(client, world.manager)
    for _k in range(2):
        world.submit(SCHEDULED)
    db.session.commit()
    plain = _statements_of(client, "/tickets", manager.headers)
    meeting = _schedule(client, world)
    clock.move_to(AFTER)
    manager = Caller(client, world.manager)
    liaison = Caller(client, world.liaison)
    liaison.ok("POST", f"/meetings/{meeting['id']}/requests", {"items": [_item(world)]}, status=201)
    one = _statements_of(client, "/tickets", manager.headers)
    assert one == plain + 1  # the page's origins, once
    liaison.ok(
        "POST",
        f"/meetings/{meeting['id']}/requests",
        {"items": [_item(world, title=f"第{k}") for k in range(6)]},
        status=201,
    )
    listed = manager.ok("GET", "/tickets")
    assert sum(1 for t in listed["items"] if t["meeting"] == meeting["id"]) == 7
    assert _statements_of(client, "/tickets", manager.headers) == one


def test_what_a_list_loaded_for_its_answers_is_not_the_next_calls(
    client: FlaskClient, world: World, clock: time_machine.Coordinates
) -> None:
    """The list reads the latest ratings of its page at once; a later call in the same thread (a worker's
    next request) reads its own, not the list's: the enterprise that rated again sees its new rating."""
    from hotline.tickets import services as tickets

    ticket = world.resolved(SCHEDULED)
    tickets.rate(ticket.id, world.contact, "dissatisfied", "没解决", SCHEDULED)  # reopened
    tickets.resolve(ticket.id, world.liaison, "已再次协调。", SCHEDULED)
    db.session.commit()
    contact = Caller(client, world.contact)
    [listed] = contact.ok("GET", "/tickets")["items"]
    assert listed["rating"]["score"] == "dissatisfied"
    rated = contact.ok("POST", f"/tickets/{ticket.number}/rate", {"score": "satisfied", "comment": "好"})
    assert (rated["state"], rated["rating"]["score"], rated["rating"]["comment"]) == (
        "closed",
        "satisfied",
        "好",
    )


# --------------------------------------------------------------------------- the document


def test_the_document_describes_the_meetings_and_the_tickets_origin(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    paths = document["paths"]
    bodies = {
        ("/api/v1/meetings", "post"): "MeetingCreate",
        ("/api/v1/meetings/{meeting_id}", "patch"): "MeetingUpdate",
        ("/api/v1/meetings/{meeting_id}/response", "post"): "InvitationAnswer",
        ("/api/v1/meetings/{meeting_id}/questions", "post"): "QuestionCreate",
        ("/api/v1/meetings/{meeting_id}/minutes", "post"): "MinutesBody",
        ("/api/v1/meetings/{meeting_id}/requests", "post"): "MeetingRequestsBody",
        ("/api/v1/visits", "post"): "VisitCreate",
    }
    for (path, method), schema in bodies.items():
        body = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{schema}"}, (path, method)
        assert paths[path][method]["summary"]
    answers = {
        ("/api/v1/meetings", "get", "200"): "MeetingPage",
        ("/api/v1/meetings", "post", "201"): "Meeting",
        ("/api/v1/meetings/{meeting_id}", "get", "200"): "Meeting",
        ("/api/v1/meetings/{meeting_id}/agenda", "get", "200"): "Agenda",
        ("/api/v1/visits", "get", "200"): "VisitPage",
        ("/api/v1/visits", "post", "201"): "VisitWithRequests",
    }
    for (path, method, status), schema in answers.items():
        answer = paths[path][method]["responses"][status]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{schema}"}, (path, method)
    schemas = document["components"]["schemas"]
    assert set(schemas["Meeting"]["properties"]) == MEETING_KEYS
    assert {"meeting", "visit"} <= set(schemas["Ticket"]["properties"])
    assert schemas["MeetingItem"]["properties"]["urgency"]["enum"] == ["normal", "urgent"]
    assert "404" in paths["/api/v1/meetings/{meeting_id}/agenda"]["get"]["responses"]
    assert "403" in paths["/api/v1/meetings/{meeting_id}/agenda"]["get"]["responses"]


def test_a_liaison_reads_only_its_buildings_part_of_a_street_meeting_and_a_contact_no_visit_notes(
    client: FlaskClient, world: World
) -> None:
    from hotline.meetings import services as field_work

    with time_machine.travel(SCHEDULED, tick=False):
        sla.sync_calendar_from_package(SCHEDULED, years=[2026])
        other = factories.liaison([world.other_enterprise.building])
        meeting = field_work.schedule_meeting(
            world.manager,
            SCHEDULED,
            {
                "kind": "roundtable",
                "title": "街道恳谈会",
                "starts_at": "2026-03-10 14:30",
                "place": "街道办",
                "street": world.street.code,
                "host": world.liaison.username,
                "invite": [world.enterprise.uscc, world.other_enterprise.uscc],
            },
        )
        for contact in (world.contact, world.other_contact):
            field_work.ask_question(
                meeting.id,
                contact,
                SCHEDULED,
                {
                    "category": world.category.code,
                    "title": "问题",
                    "description": "说明",
                    "contact_phone": "13800138000",
                },
            )
        hidden = world.submit(SCHEDULED, title="本楼诉求")
        field_work.log_visit(
            world.liaison,
            SCHEDULED,
            {
                "enterprise_uscc": world.enterprise.uscc,
                "visited_on": "2026-03-03",
                "met": "张总",
                "notes": "内部备注",
            },
        )
        db.session.commit()
        reader = Caller(client, other)
        agenda = reader.ok("GET", f"/meetings/{meeting.id}/agenda")
        assert [e["uscc"] for e in agenda["enterprises"]] == [world.other_enterprise.uscc]
        assert agenda["left_out"] == 1 and hidden.number not in json.dumps(agenda)
        questions = reader.ok("GET", f"/meetings/{meeting.id}/questions")
        assert [q["enterprise"]["uscc"] for q in questions] == [world.other_enterprise.uscc]
        shown = reader.ok("GET", f"/meetings/{meeting.id}")
        assert [i["enterprise"]["uscc"] for i in shown["invitations"]] == [world.other_enterprise.uscc]
        [visit] = Caller(client, world.contact).ok("GET", "/visits")["items"]
        assert visit["notes"] is None and visit["met"] == "张总"
        [visit] = Caller(client, world.liaison).ok("GET", "/visits")["items"]
        assert visit["notes"] == "内部备注"
