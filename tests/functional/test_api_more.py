"""The API's account, notification, extension, calendar and enterprise calls, through the test client with
real bearer tokens: what each answers, who may call it, and that hostile input is refused, never a 500.

Time is frozen on Tuesday 16 June 2026, 10:00 in Shanghai, with 2026 in the calendar, so deadlines are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select

from hotline.auth.models import User
from hotline.enterprises.models import Enterprise
from hotline.extensions import db
from hotline.notifications import services as notifications
from hotline.notifications.models import Notification, NotificationKind
from hotline.sla import services as sla
from hotline.sla.calendar import current_calendar
from hotline.sla.models import CalendarDay, DaySource, Extension, ExtensionState
from hotline.tickets.models import Ticket
from hotline.timeutil import iso
from tests import factories
from tests.factories import World
from tests.functional.test_api import API, Api, error_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 16, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)  # a Tuesday, a working day
HUGE_IDS = ["0", str(2**63), str(2**64 + 1), "9" * 40]
ENGLISH = {"Accept-Language": "en"}

EXTENSION_KEYS = {
    "id",
    "ticket_number",
    "state",
    "working_days",
    "reason",
    "requested_by",
    "created_at",
    "decided_by",
    "decided_at",
    "decision_note",
    "old_due_at",
    "new_due_at",
}
PAGE_KEYS = {"items", "page", "pages", "per_page", "total"}
PROFILE_KEYS = {
    "username",
    "name",
    "role",
    "email",
    "phone",
    "locale",
    "available",
    "leave_from",
    "leave_until",
    "enterprise",
    "department",
}
NOTIFICATION_KEYS = {"id", "kind", "subject", "text", "excerpt", "ticket_number", "created_at", "read_at"}
ENTERPRISE_KEYS = {"uscc", "name", "building", "street", "verified", "verified_at"}


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def calendar_2026(app: Flask, frozen: datetime) -> None:
    assert sla.sync_calendar_from_package(frozen, years=[2026]) == [2026]
    db.session.commit()


def english(api: Api, method: str, path: str, body: Any = None) -> Any:
    """A call asking for English answers (the shared app context keeps the last locale: forget it)."""
    refresh()
    return api.client.open(f"{API}{path}", method=method, json=body, headers={**api.headers, **ENGLISH})


def asked_extension(
    world: World, now: datetime, days: int = 3, reason: str = "需协调区住建委现场勘查"
) -> Extension:
    ticket = world.in_progress(now)
    return sla.request_extension(ticket.id, world.liaison, days, reason, now)


# --------------------------------------------------------------------------- extensions (延期)


def test_managers_list_extensions_by_state_and_decide_them(
    client: FlaskClient, world: World, calendar_2026: None, frozen: datetime
) -> None:
    first = asked_extension(world, frozen)
    second = asked_extension(world, frozen, days=5, reason="等待市级部门答复")
    first_id, second_id = first.id, second.id
    number = db.session.get(Ticket, first.ticket_id).number  # type: ignore[union-attr]
    old_due = first.old_due_at
    assert old_due is not None
    db.session.commit()
    manager = Api(client, world.manager)

    listing = manager.get("/extensions")
    assert listing.status_code == 200, listing.get_json()
    page = listing.get_json()
    assert set(page) == PAGE_KEYS
    assert (page["total"], page["page"], page["pages"]) == (2, 1, 1)
    assert [e["id"] for e in page["items"]] == [first_id, second_id]  # the oldest waits longest
    item = page["items"][0]
    assert set(item) == EXTENSION_KEYS
    assert item["ticket_number"] == number
    assert item["state"] == "pending" and item["working_days"] == 3
    assert item["reason"] == "需协调区住建委现场勘查"
    assert item["requested_by"] == {"username": world.liaison.username, "name": world.liaison.name}
    assert item["created_at"] == iso(frozen)
    assert item["old_due_at"] == iso(old_due) and item["old_due_at"].endswith("+08:00")
    assert (item["decided_by"], item["decided_at"], item["new_due_at"], item["decision_note"]) == (
        None,
        None,
        None,
        "",
    )
    assert manager.get("/extensions?per_page=1&page=2").get_json()["items"][0]["id"] == second_id

    approved = manager.post(f"/extensions/{first_id}/decide", {"approve": True, "note": "同意"})
    assert approved.status_code == 200, approved.get_json()
    decided = approved.get_json()
    assert decided["state"] == "approved" and decided["ticket_number"] == number
    assert decided["decided_by"] == {"username": world.manager.username, "name": world.manager.name}
    assert decided["decision_note"] == "同意" and decided["decided_at"] == iso(frozen)
    new_due = current_calendar().add_working_days(old_due, 3)
    assert decided["new_due_at"] == iso(new_due)
    assert db.session.scalar(select(Ticket.resolve_due_at).where(Ticket.number == number)) == new_due

    error_of(
        manager.post(f"/extensions/{first_id}/decide", {"approve": False, "note": "x"}),
        409,
        "invalid_transition",
    )

    no_note = manager.post(f"/extensions/{second_id}/decide", {"approve": False, "note": "  "})
    assert set(error_of(no_note, 400, "validation_failed")["fields"]) == {"note"}
    assert db.session.get(Extension, second_id).state == ExtensionState.PENDING  # type: ignore[union-attr]
    refused = manager.post(f"/extensions/{second_id}/decide", {"approve": False, "note": "理由不充分"})
    assert refused.status_code == 200 and refused.get_json()["state"] == "refused"

    assert manager.get("/extensions").get_json()["total"] == 0
    assert [e["id"] for e in manager.get("/extensions?state=approved").get_json()["items"]] == [first_id]
    assert [e["id"] for e in manager.get("/extensions?state=refused").get_json()["items"]] == [second_id]
    assert "state" in error_of(manager.get("/extensions?state=lost"), 400, "validation_failed")["fields"]
    assert Api(client, world.admin).get("/extensions?state=approved").get_json()["total"] == 1


def test_only_managers_see_and_decide_extensions(
    client: FlaskClient, world: World, calendar_2026: None, frozen: datetime
) -> None:
    extension_id = asked_extension(world, frozen).id
    db.session.commit()
    for user in (world.liaison, world.contact, world.department_user):
        api = Api(client, user)
        error_of(api.get("/extensions"), 403, "forbidden")
        error_of(api.post(f"/extensions/{extension_id}/decide", {"approve": True}), 403, "forbidden")
    assert db.session.get(Extension, extension_id).state == ExtensionState.PENDING  # type: ignore[union-attr]


def test_deciding_an_extension_refuses_bad_bodies_and_ids(
    client: FlaskClient, world: World, calendar_2026: None, frozen: datetime
) -> None:
    extension_id = asked_extension(world, frozen).id
    db.session.commit()
    manager = Api(client, world.manager)
    decide = f"/extensions/{extension_id}/decide"

    missing = english(manager, "POST", decide, {"note": "ok"})
    assert error_of(missing, 400, "validation_failed")["fields"] == {"approve": "Choose approve or refuse."}
    for approve in ("yes", 1, None, {"value": True}):
        fields = error_of(manager.post(decide, {"approve": approve}), 400, "validation_failed")["fields"]
        assert set(fields) == {"approve"}
    nested = english(manager, "POST", decide, {"approve": False, "note": {"text": "x"}})
    assert error_of(nested, 400, "validation_failed")["fields"] == {"note": "Must be a string."}
    nul = manager.post(decide, {"approve": False, "note": "理由\x00"})
    assert set(error_of(nul, 400, "validation_failed")["fields"]) == {"note"}
    error_of(manager.post(decide, ["approve"]), 400, "bad_request")
    assert db.session.get(Extension, extension_id).state == ExtensionState.PENDING  # type: ignore[union-attr]

    unknown = english(manager, "POST", f"/extensions/{extension_id + 1000}/decide", {"approve": True})
    assert error_of(unknown, 404, "not_found")["message"] == "No such extension request."
    for huge in HUGE_IDS:
        error_of(manager.post(f"/extensions/{huge}/decide", {"approve": True}), 404, "not_found")
    error_of(manager.post("/extensions/-1/decide", {"approve": True}), 404, "not_found")


# --------------------------------------------------------------------------- the caller's account


def test_me_describes_the_caller_whatever_its_role(client: FlaskClient, world: World) -> None:
    contact = Api(client, world.contact).get("/me").get_json()
    assert set(contact) == PROFILE_KEYS
    assert contact["username"] == world.contact.username and contact["role"] == "enterprise"
    assert contact["enterprise"] == {
        "name": world.enterprise.name,
        "uscc": world.enterprise.uscc,
        "verified": False,
    }
    assert (contact["department"], contact["available"], contact["locale"]) == (None, None, None)

    staff = Api(client, world.department_user).get("/me").get_json()
    assert staff["department"] == world.department.code and staff["enterprise"] is None
    liaison = Api(client, world.liaison).get("/me").get_json()
    assert liaison["role"] == "liaison" and liaison["available"] is True
    assert Api(client, world.manager).get("/me").get_json()["role"] == "manager"
    error_of(client.get(f"{API}/me"), 401, "unauthorized")


def test_the_caller_updates_its_profile_any_subset_at_a_time(client: FlaskClient, world: World) -> None:
    api = Api(client, world.contact)
    changed = api.client.patch(
        f"{API}/me",
        json={"name": " 王经理 ", "phone": "+86 138-0013-8000", "email": "Wang@Example.COM", "locale": "en"},
        headers=api.headers,
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["name"], body["phone"], body["email"], body["locale"]) == (
        "王经理",
        "+86 138-0013-8000",
        "Wang@example.com",
        "en",
    )
    user = db.session.get(User, world.contact.id)
    assert user is not None and (user.name, user.locale) == ("王经理", "en")

    only_phone = api.client.patch(f"{API}/me", json={"phone": "010-12345678"}, headers=api.headers)
    assert only_phone.get_json()["phone"] == "010-12345678" and only_phone.get_json()["name"] == "王经理"
    untouched = api.client.patch(f"{API}/me", json={"name": None}, headers=api.headers)
    assert untouched.status_code == 200 and untouched.get_json()["name"] == "王经理"
    cleared = api.client.patch(f"{API}/me", json={"email": "", "phone": ""}, headers=api.headers)
    assert (cleared.get_json()["email"], cleared.get_json()["phone"]) == ("", "")
    assert api.client.patch(f"{API}/me", headers=api.headers).status_code == 200  # no body: nothing changes


def test_a_bad_profile_is_refused_field_by_field_and_nothing_changes(
    client: FlaskClient, world: World
) -> None:
    api = Api(client, world.contact)
    before = (world.contact.name, world.contact.phone, world.contact.email, world.contact.locale)

    def patch(body: Any) -> Any:
        refresh()
        return api.client.patch(f"{API}/me", json=body, headers={**api.headers, **ENGLISH})

    everything = patch({"name": "  ", "phone": "12", "email": "not-an-address", "locale": "fr"})
    fields = error_of(everything, 400, "validation_failed")["fields"]
    assert fields == {
        "name": "This field is required.",
        "phone": "Enter a phone number of 7 to 20 digits (a leading + and dashes allowed).",
        "email": "Enter a valid email address, like name@example.com.",
        "locale": "Choose one of: zh, en.",
    }
    assert error_of(patch({"name": "名" * 101}), 400, "validation_failed")["fields"] == {
        "name": "At most 100 characters."
    }
    assert set(error_of(patch({"email": "a@localhost"}), 400, "validation_failed")["fields"]) == {"email"}

    hostile = patch({"name": {"first": "王"}, "phone": ["13800138000"], "email": 42, "locale": True})
    assert error_of(hostile, 400, "validation_failed")["fields"] == dict.fromkeys(
        ("name", "phone", "email", "locale"), "Must be a string."
    )
    nul = patch({"name": "王\x00经理", "email": "a\x00@example.com", "phone": "138\x0000138000"})
    assert set(error_of(nul, 400, "validation_failed")["fields"]) == {"name", "email", "phone"}
    error_of(api.client.patch(f"{API}/me", data="{oops", headers=api.headers), 400, "bad_request")

    user = db.session.get(User, world.contact.id)
    assert user is not None and (user.name, user.phone, user.email, user.locale) == before


def test_a_liaison_goes_on_leave_and_comes_back_others_may_not(client: FlaskClient, world: World) -> None:
    liaison = Api(client, world.liaison)
    away = liaison.client.put(f"{API}/me/availability", json={"available": False}, headers=liaison.headers)
    assert away.status_code == 200 and away.get_json()["available"] is False
    assert db.session.get(User, world.liaison.id).available is False  # type: ignore[union-attr]
    back = liaison.client.put(f"{API}/me/availability", json={"available": True}, headers=liaison.headers)
    assert back.get_json()["available"] is True

    for body in ({}, {"available": "false"}, {"available": None}, {"available": {"v": False}}):
        refused = liaison.client.put(f"{API}/me/availability", json=body, headers=liaison.headers)
        assert set(error_of(refused, 400, "validation_failed")["fields"]) == {"available"}
    for user in (world.contact, world.manager, world.department_user):
        api = Api(client, user)
        put = api.client.put(f"{API}/me/availability", json={"available": False}, headers=api.headers)
        error_of(put, 403, "forbidden")
    assert db.session.get(User, world.manager.id).available is True  # type: ignore[union-attr]


# --------------------------------------------------------------------------- notifications


def _notifications(world: World, frozen: datetime) -> tuple[int, int, int, str]:
    ticket = world.submit(frozen)
    params = {"number": ticket.number, "title": ticket.title, "actor": world.liaison.name}
    replied = notifications.notify(
        [world.contact],
        NotificationKind.REPLIED,
        frozen,
        ticket=ticket,
        params={**params, "excerpt": "已联系物业"},
    )[0]
    resolved = notifications.notify(
        [world.contact], NotificationKind.RESOLVED, frozen.replace(minute=5), ticket=ticket, params=params
    )[0]
    others = notifications.notify(
        [world.manager], NotificationKind.CALENDAR_MISSING, frozen, params={"year": 2027}
    )[0]
    db.session.commit()
    return replied.id, resolved.id, others.id, ticket.number


def test_notifications_are_the_callers_own_newest_first_and_can_be_read(
    client: FlaskClient, world: World, frozen: datetime
) -> None:
    replied_id, resolved_id, managers_id, number = _notifications(world, frozen)
    contact = Api(client, world.contact)

    listing = english(contact, "GET", "/notifications")
    assert listing.status_code == 200, listing.get_json()
    page = listing.get_json()
    assert set(page) == PAGE_KEYS | {"unread"}
    assert (page["total"], page["unread"]) == (2, 2)
    assert [n["id"] for n in page["items"]] == [resolved_id, replied_id]
    replied = page["items"][1]
    assert set(replied) == NOTIFICATION_KEYS
    assert replied["kind"] == "replied" and replied["ticket_number"] == number
    assert replied["subject"] == f"New reply to your request {number}"
    assert replied["text"].startswith(f"{world.liaison.name} replied to your request {number}")
    assert replied["excerpt"] == "已联系物业" and page["items"][0]["excerpt"] is None
    assert replied["created_at"] == iso(frozen) and replied["read_at"] is None
    refresh()
    chinese = contact.get("/notifications", headers={"Accept-Language": "zh-CN"}).get_json()
    assert number in chinese["items"][1]["subject"] and "reply" not in chinese["items"][1]["subject"]

    read = contact.post(f"/notifications/{replied_id}/read")
    assert read.status_code == 200 and read.get_json()["read_at"] == iso(frozen)
    assert contact.post(f"/notifications/{replied_id}/read").status_code == 200  # twice is harmless
    unread = contact.get("/notifications?unread=true").get_json()
    assert [n["id"] for n in unread["items"]] == [resolved_id] and unread["unread"] == 1
    assert [n["id"] for n in contact.get("/notifications?unread=false").get_json()["items"]] == [replied_id]

    manager = english(Api(client, world.manager), "GET", "/notifications").get_json()
    assert [n["id"] for n in manager["items"]] == [managers_id]
    assert manager["items"][0]["ticket_number"] is None and "2027" in manager["items"][0]["subject"]


def test_another_users_notification_answers_404_and_bad_queries_400(
    client: FlaskClient, world: World, frozen: datetime
) -> None:
    replied_id, _resolved_id, managers_id, _number = _notifications(world, frozen)
    other = Api(client, world.other_contact)
    assert other.get("/notifications").get_json()["total"] == 0
    error_of(other.post(f"/notifications/{replied_id}/read"), 404, "not_found")
    error_of(Api(client, world.contact).post(f"/notifications/{managers_id}/read"), 404, "not_found")
    assert db.session.get(Notification, replied_id).read_at is None  # type: ignore[union-attr]
    for huge in HUGE_IDS:
        error_of(other.post(f"/notifications/{huge}/read"), 404, "not_found")

    for query, field in (
        ("unread=maybe", "unread"),
        ("unread=%00", "unread"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        (f"page={2**64}", "page"),
        ("page=%00", "page"),
    ):
        assert field in error_of(other.get(f"/notifications?{query}"), 400, "validation_failed")["fields"]
    error_of(client.get(f"{API}/notifications"), 401, "unauthorized")


# --------------------------------------------------------------------------- the working-day calendar


def test_managers_read_a_year_of_the_calendar(client: FlaskClient, world: World, calendar_2026: None) -> None:
    manager = Api(client, world.manager)
    year = manager.get("/calendar/2026")
    assert year.status_code == 200, year.get_json()
    body = year.get_json()
    assert body["year"] == 2026 and body["known"] is True and len(body["days"]) == 365
    days = {d["date"]: d for d in body["days"]}
    assert [body["days"][0]["date"], body["days"][-1]["date"]] == ["2026-01-01", "2026-12-31"]
    assert days["2026-06-16"] == {"date": "2026-06-16", "kind": "workday", "source": "package", "note": ""}
    assert days["2026-10-01"] == {
        "date": "2026-10-01",
        "kind": "restday",
        "source": "package",
        "note": "National Day",
    }
    assert days["2026-06-20"]["kind"] == "restday"  # a Saturday
    assert days["2026-10-10"]["kind"] == "workday"  # a Saturday worked to make up for National Day

    assert manager.get("/calendar/2031").get_json() == {"year": 2031, "known": False, "days": []}
    assert Api(client, world.admin).get("/calendar/2026").get_json()["known"] is True
    for year_text in ("1999", "2101"):
        refused = manager.get(f"/calendar/{year_text}")
        assert set(error_of(refused, 400, "validation_failed")["fields"]) == {"year"}
    # a number no 64-bit id can be matches no route at all (hotline/urls.py BoundedInt)
    error_of(manager.get(f"/calendar/{'9' * 40}"), 404, "not_found")
    for user in (world.liaison, world.contact, world.department_user):
        error_of(Api(client, user).get("/calendar/2026"), 403, "forbidden")


def test_a_manager_marks_a_day_and_open_deadlines_follow(
    client: FlaskClient, world: World, calendar_2026: None, frozen: datetime
) -> None:
    ticket = world.in_progress(frozen)
    due_before = ticket.resolve_due_at
    assert due_before is not None
    db.session.commit()
    manager = Api(client, world.manager)

    marked = manager.client.put(
        f"{API}/calendar/2026-06-17",
        json={"kind": "restday", "note": "大楼停电检修"},
        headers=manager.headers,
    )
    assert marked.status_code == 200, marked.get_json()
    assert marked.get_json() == {
        "date": "2026-06-17",
        "kind": "restday",
        "source": "override",
        "note": "大楼停电检修",
    }
    row = db.session.scalars(select(CalendarDay).where(CalendarDay.day == datetime(2026, 6, 17).date())).one()
    assert (row.is_workday, row.source) == (False, DaySource.OVERRIDE)
    due_after = db.session.scalar(select(Ticket.resolve_due_at).where(Ticket.id == ticket.id))
    assert due_after is not None and due_after > due_before  # one working day fewer before the deadline

    saturday = manager.client.put(
        f"{API}/calendar/2026-06-20", json={"kind": "workday"}, headers=manager.headers
    )
    assert saturday.get_json()["kind"] == "workday" and saturday.get_json()["note"] == ""
    days = {d["date"]: d for d in manager.get("/calendar/2026").get_json()["days"]}
    assert days["2026-06-17"]["source"] == "override" and days["2026-06-20"]["kind"] == "workday"


def test_a_bad_day_or_body_is_refused_with_fields_never_a_500(
    client: FlaskClient, world: World, calendar_2026: None
) -> None:
    manager = Api(client, world.manager)

    def put(day: str, body: Any) -> Any:
        refresh()
        return manager.client.put(f"{API}/calendar/{day}", json=body, headers={**manager.headers, **ENGLISH})

    for day in (
        "2026-13-45",
        "2026-02-30",
        "20260617",
        "2026-W25-3",
        "tomorrow",
        "2026-06-1%00",
        "0000-01-01",
    ):
        refused = put(day, {"kind": "restday"})
        assert error_of(refused, 400, "validation_failed")["fields"] == {
            "day": "Give a date as YYYY-MM-DD, for example 2026-03-31."
        }, day
    unknown_year = put("2031-03-03", {"kind": "restday"})
    assert error_of(unknown_year, 400, "validation_failed")["fields"] == {
        "day": "The calendar has no 2031 yet: enter the year first."
    }
    for body in ({}, {"kind": "holiday"}, {"kind": ["restday"]}, {"kind": None}):
        fields = error_of(put("2026-06-17", body), 400, "validation_failed")["fields"]
        assert fields == {"kind": "Choose working day or rest day."}
    for note in ({"text": "停电"}, "停电\x00"):
        fields = error_of(put("2026-06-17", {"kind": "restday", "note": note}), 400, "validation_failed")[
            "fields"
        ]
        assert set(fields) == {"note"}
    too_long = put("2026-06-17", {"kind": "restday", "note": "长" * 201})
    assert error_of(too_long, 400, "validation_failed")["fields"] == {"note": "At most 200 characters."}
    assert db.session.get(CalendarDay, datetime(2026, 6, 17).date()).source == DaySource.PACKAGE  # type: ignore[union-attr]

    liaison = Api(client, world.liaison)
    denied = liaison.client.put(
        f"{API}/calendar/2026-06-17", json={"kind": "restday"}, headers=liaison.headers
    )
    error_of(denied, 403, "forbidden")


# --------------------------------------------------------------------------- enterprises


def _usccs(api: Api, query: str = "") -> list[str]:
    response = api.get(f"/enterprises{query}")
    assert response.status_code == 200, response.get_json()
    return [e["uscc"] for e in response.get_json()["items"]]


def test_each_caller_sees_only_the_enterprises_it_may(client: FlaskClient, world: World) -> None:
    own, other = world.enterprise.uscc, world.other_enterprise.uscc
    manager = Api(client, world.manager)

    page = manager.get("/enterprises").get_json()
    assert set(page) == PAGE_KEYS and page["total"] == 2
    assert [e["uscc"] for e in page["items"]] == [other, own]  # newest first
    item = page["items"][1]
    assert set(item) == ENTERPRISE_KEYS
    assert item == {
        "uscc": own,
        "name": world.enterprise.name,
        "building": world.building.name,
        "street": world.street.name,
        "verified": False,
        "verified_at": None,
    }
    assert _usccs(Api(client, world.contact)) == [own]
    assert _usccs(Api(client, world.other_contact)) == [other]
    assert _usccs(Api(client, world.liaison)) == [own]
    assert _usccs(Api(client, world.other_liaison)) == []
    assert _usccs(Api(client, world.department_user)) == []

    # a part of the name holding a Chinese character: the digits alone could be part of the other's code
    assert _usccs(manager, f"?q={world.enterprise.name[-4:]}") == [own]
    assert _usccs(manager, f"?q={other[-6:]}") == [other]
    assert _usccs(manager, "?q=%25") == []  # a LIKE wildcard is searched for, not obeyed
    assert _usccs(Api(client, world.contact), f"?q={other}") == []
    for query, field in (("?q=%00", "q"), ("?q=" + "x" * 201, "q"), ("?unverified=perhaps", "unverified")):
        assert field in error_of(manager.get(f"/enterprises{query}"), 400, "validation_failed")["fields"]
    error_of(client.get(f"{API}/enterprises"), 401, "unauthorized")


def test_the_buildings_liaison_or_a_manager_verifies_an_enterprise(
    client: FlaskClient, world: World, frozen: datetime
) -> None:
    own, other = world.enterprise.uscc, world.other_enterprise.uscc
    liaison = Api(client, world.liaison)

    error_of(Api(client, world.other_liaison).post(f"/enterprises/{own}/verify"), 404, "not_found")
    error_of(Api(client, world.contact).post(f"/enterprises/{own}/verify"), 403, "forbidden")
    error_of(Api(client, world.contact).post(f"/enterprises/{other}/verify"), 404, "not_found")
    error_of(Api(client, world.department_user).post(f"/enterprises/{own}/verify"), 404, "not_found")
    error_of(liaison.post(f"/enterprises/{other}/verify"), 404, "not_found")
    assert db.session.get(Enterprise, world.enterprise.id).verified_at is None  # type: ignore[union-attr]

    verified = liaison.post(f"/enterprises/{own.lower()}/verify")  # typed in lower case: still the code
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["verified"] is True and verified.get_json()["verified_at"] == iso(frozen)
    error_of(liaison.post(f"/enterprises/{own}/verify"), 409, "invalid_transition")
    assert _usccs(liaison, "?unverified=true") == []
    assert _usccs(Api(client, world.manager), "?unverified=true") == [other]

    assert Api(client, world.manager).post(f"/enterprises/{other}/verify").get_json()["verified"] is True
    unknown = factories.make_uscc(999_999)
    for code in (unknown, "%00", "x" * 500, "91110105%0000000001", own[:17]):
        error_of(Api(client, world.manager).post(f"/enterprises/{code}/verify"), 404, "not_found")


# --------------------------------------------------------------------------- hostile input, the document


HOSTILE_BODIES: list[Any] = [
    {"name": {"$gt": ""}, "approve": {"a": {"b": {}}}, "kind": {"k": 1}, "note": [1, 2], "available": []},
    {"name": "\x00", "phone": "\x00", "email": "\x00", "locale": "\x00", "note": "\x00", "kind": "\x00"},
    {"approve": True, "note": "x" * 100_000},
    [[[[[]]]]],
    "just a string",
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_bodies_are_refused_never_a_500(
    client: FlaskClient, world: World, calendar_2026: None, frozen: datetime, body: Any
) -> None:
    extension_id = asked_extension(world, frozen).id
    notification_id = _notifications(world, frozen)[0]
    db.session.commit()
    calls = [
        ("PATCH", "/me"),
        ("PUT", "/me/availability"),
        ("POST", f"/extensions/{extension_id}/decide"),
        ("PUT", "/calendar/2026-06-17"),
        ("POST", f"/notifications/{notification_id}/read"),
        ("POST", f"/enterprises/{world.enterprise.uscc}/verify"),
    ]
    for user in (world.manager, world.liaison, world.contact):
        api = Api(client, user)
        for method, path in calls:
            response = api.client.open(f"{API}{path}", method=method, json=body, headers=api.headers)
            assert response.status_code < 500, (method, path, response.get_data(as_text=True)[:300])
            if response.status_code >= 400:
                assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_the_document_describes_the_new_calls_and_their_bodies(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    paths = document["paths"]
    bodies = {
        ("/api/v1/me", "patch"): "ProfileUpdate",
        ("/api/v1/me/availability", "put"): "AvailabilityUpdate",
        ("/api/v1/extensions/{extension_id}/decide", "post"): "ExtensionDecision",
        ("/api/v1/calendar/{day}", "put"): "CalendarDayUpdate",
    }
    for (path, method), schema in bodies.items():
        body = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{schema}"}
    answers = {
        ("/api/v1/me", "get"): "Profile",
        ("/api/v1/extensions", "get"): "ExtensionPage",
        ("/api/v1/notifications", "get"): "NotificationPage",
        ("/api/v1/notifications/{notification_id}/read", "post"): "Notification",
        ("/api/v1/calendar/{year}", "get"): "CalendarYear",
        ("/api/v1/enterprises", "get"): "EnterprisePage",
        ("/api/v1/enterprises/{uscc}/verify", "post"): "Enterprise",
    }
    for (path, method), schema in answers.items():
        answer = paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": f"#/components/schemas/{schema}"}
    schemas = document["components"]["schemas"]
    assert set(schemas["Extension"]["properties"]) == EXTENSION_KEYS
    assert set(schemas["Profile"]["properties"]) == PROFILE_KEYS
    assert set(schemas["CalendarDay"]["properties"]) == {"date", "kind", "source", "note"}
    assert schemas["CalendarDayUpdate"]["properties"]["kind"]["enum"][:2] == ["workday", "restday"]


def test_the_language_a_user_chose_is_the_language_of_its_api_answers(
    client: FlaskClient, world: World
) -> None:
    api = Api(client, world.contact)
    refresh()
    before = api.client.post(f"{API}/tickets/{'QH20990101-0001'}/rate", json={}, headers=api.headers)
    assert before.status_code == 404 and before.get_json()["error"]["message"] == "该诉求不存在。"
    refresh()
    assert api.client.patch(f"{API}/me", json={"locale": "en"}, headers=api.headers).status_code == 200
    refresh()
    after = api.client.post(f"{API}/tickets/{'QH20990101-0001'}/rate", json={}, headers=api.headers)
    assert after.status_code == 404 and after.get_json()["error"]["message"] == "No such request."


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/tickets", {"title": 7}),
        ("POST", "/extensions/1/decide", {"approve": "x"}),
        ("PATCH", "/me", {"email": 7}),
        ("PUT", "/calendar/2026-05-01", {"kind": "holiday"}),
        ("POST", "/tickets/QH20260101-0001/resolve", {"answer": 7}),
        ("GET", "/tickets?page=abc", None),
    ],
)
def test_without_a_token_the_body_is_not_even_read(
    client: FlaskClient, method: str, path: str, body: Any
) -> None:
    response = client.open(f"{API}{path}", method=method, json=body)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
