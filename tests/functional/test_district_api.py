"""The district sets itself up through the API (issue 10, points 1 and 2): streets, buildings, departments,
categories and coverage, with every refusal explained in ``fields`` and nothing half-saved."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from hotline.enterprises.models import Building, Coverage, CoverageRole, Street
from hotline.extensions import db
from hotline.routing.services import route_ticket
from hotline.tickets import services as tickets
from hotline.tickets.models import Category
from tests import factories
from tests.factories import World
from tests.functional.test_api import API, Api, error_of

ENGLISH = {"Accept-Language": "en"}


class Manager(Api):
    def call(self, method: str, path: str, body: Any = None) -> TestResponse:
        return self.client.open(f"{API}{path}", method=method, json=body, headers={**self.headers, **ENGLISH})


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_manager_adds_a_street_and_a_building_and_edits_them(client: FlaskClient, world: World) -> None:
    manager = Manager(client, world.manager)

    made = manager.call("POST", "/streets", {"code": "JX", "name": "金星街道", "name_en": "Jinxing"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json() == {
        "code": "JX",
        "name": "金星街道",
        "name_en": "Jinxing",
        "active": True,
        "buildings": 0,
    }
    building = manager.call(
        "POST", "/buildings", {"street": "JX", "name": "金星大厦", "address": "金星路1号"}
    )
    assert building.status_code == 201, building.get_json()
    body = building.get_json()
    assert (body["street"], body["street_name"], body["active"]) == ("JX", "金星街道", True)

    moved = manager.call(
        "PATCH", f"/buildings/{body['id']}", {"street": world.street.code, "name_en": "Venus"}
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["street"], moved.get_json()["name_en"]) == (world.street.code, "Venus")
    retired = manager.call("PATCH", "/streets/JX", {"active": False})
    assert retired.get_json()["active"] is False
    # a retired street takes no new building
    refused = error_of(
        manager.call("POST", "/buildings", {"street": "JX", "name": "新楼"}), 400, "validation_failed"
    )
    assert refused["fields"] == {"street": "This street is no longer in use."}

    listed = manager.call("GET", f"/buildings?street={world.street.code}&q=金星").get_json()
    assert [b["name"] for b in listed["items"]] == ["金星大厦"]
    streets = {s["code"]: s for s in manager.call("GET", "/streets").get_json()}
    assert streets["JX"]["buildings"] == 0 and streets[world.street.code]["buildings"] >= 1


def test_every_field_problem_is_answered_at_once_and_nothing_is_saved(
    client: FlaskClient, world: World
) -> None:
    manager = Manager(client, world.manager)
    streets, buildings = _count(Street), _count(Building)

    error = error_of(
        manager.call(
            "POST", "/streets", {"code": "有 空格", "name": world.street.name, "name_en": "x" * 101}
        ),
        400,
        "validation_failed",
    )
    assert set(error["fields"]) == {"code", "name", "name_en"}
    assert error["fields"]["name"] == "Another street has this name."
    error = error_of(
        manager.call(
            "POST", "/buildings", {"street": "NOPE", "name": world.building.name, "address": "长" * 201}
        ),
        400,
        "validation_failed",
    )
    assert error["fields"] == {
        "street": "No street has this code.",
        "name": "Another building has this name.",
        "address": "At most 200 characters.",
    }
    error = error_of(manager.call("POST", "/streets", {"code": "A1"}), 400, "validation_failed")
    assert set(error["fields"]) == {"name"}
    assert (_count(Street), _count(Building)) == (streets, buildings)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PATCH", "/streets/NOPE", {"name": "x"}, 404),
        ("PATCH", "/streets/%00", {"name": "x"}, 404),
        ("PATCH", "/buildings/99999999999999999999999", {"name": "x"}, 404),
        ("PATCH", "/buildings/9223372036854775807", {"name": "x"}, 404),
        ("PATCH", "/departments/x%00y", {"name": "x"}, 404),
        ("PATCH", "/categories/NOPE", {"name": "x"}, 404),
        ("DELETE", "/coverage/9223372036854775808", None, 404),
        ("POST", "/streets", {"code": {"a": [1, {"b": 2}]}, "name": ["x"]}, 400),
        ("POST", "/coverage", {"building": 10**30, "liaison": "\x00", "kind": "boss"}, 400),
        ("POST", "/coverage", {"building": "1", "liaison": 5, "kind": None}, 400),
        ("POST", "/categories", {"code": "c1", "name": "x", "resolve_days": 10**12}, 400),
        ("PATCH", "/streets/A", ["not", "an", "object"], 400),
    ],
)
def test_hostile_input_is_refused_never_a_500(
    client: FlaskClient, world: World, method: str, path: str, body: Any, status: int
) -> None:
    response = Manager(client, world.manager).call(method, path, body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["message"]


def test_only_managers_change_the_setup_and_enterprises_read_nothing(
    client: FlaskClient, world: World
) -> None:
    liaison = Manager(client, world.liaison)
    error_of(liaison.call("POST", "/streets", {"code": "X", "name": "某街道"}), 403, "forbidden")
    error_of(
        liaison.call(
            "POST",
            "/coverage",
            {"building": world.building.id, "liaison": world.liaison.username, "kind": "deputy"},
        ),
        403,
        "forbidden",
    )
    assert liaison.call("GET", "/coverage").status_code == 200
    contact = Manager(client, world.contact)
    for path in ("/streets", "/buildings", "/departments", "/coverage"):
        error_of(contact.call("GET", path), 403, "forbidden")


def test_departments_and_categories_are_created_edited_and_retired(client: FlaskClient, world: World) -> None:
    manager = Manager(client, world.manager)
    made = manager.call("POST", "/departments", {"code": "tax", "name": "区税务局", "name_en": "Tax bureau"})
    assert made.status_code == 201, made.get_json()
    error = error_of(
        manager.call("POST", "/departments", {"code": "TAX", "name": "别的局"}), 400, "validation_failed"
    )
    assert error["fields"] == {"code": "Another department has this code."}
    assert manager.call("PATCH", "/departments/tax", {"active": False}).get_json()["active"] is False

    category = manager.call("POST", "/categories", {"code": "permits", "name": "证照办理", "resolve_days": 3})
    assert category.status_code == 201, category.get_json()
    assert (category.get_json()["resolve_days"], category.get_json()["acknowledge_minutes"]) == (3, 120)
    error = error_of(
        manager.call("PATCH", "/categories/permits", {"resolve_days_urgent": 9}), 400, "validation_failed"
    )
    assert set(error["fields"]) == {"resolve_days_urgent"}  # longer than the normal limit
    changed = manager.call("PATCH", "/categories/permits", {"name_en": "Permits", "active": False}).get_json()
    assert (changed["name_en"], changed["active"]) == ("Permits", False)
    # a retired category is offered to no new request
    codes = [c["code"] for c in Api(client, world.contact).get("/categories").get_json()]
    assert "permits" not in codes and world.category.code in codes
    stored = db.session.scalar(select(Category).where(Category.code == "permits"))
    assert stored is not None and stored.resolve_days == 3


def test_coverage_is_assigned_replaced_moved_and_ended_with_its_history(
    client: FlaskClient, world: World
) -> None:
    manager = Manager(client, world.manager)
    new = Building(street=world.street, name="新落成大厦", address="")
    db.session.add(new)
    db.session.commit()

    first = manager.call(
        "POST", "/coverage", {"building": new.id, "liaison": world.liaison.username, "kind": "primary"}
    )
    assert first.status_code == 201, first.get_json()
    assert (
        first.get_json()["kind"] == "primary"
        and first.get_json()["created_by"]["username"] == world.manager.username
    )
    # a second primary is refused, saying who covers it now
    second = {"building": new.id, "liaison": world.other_liaison.username, "kind": "primary"}
    error = error_of(manager.call("POST", "/coverage", second), 409, "conflict")
    assert world.liaison.name in error["message"]
    replaced = manager.call("POST", "/coverage", {**second, "replace": True})
    assert replaced.status_code == 201, replaced.get_json()
    # the first primary is now a deputy? no: it is ended, and kept in the history
    history = manager.call("GET", f"/coverage?building={new.id}&history=true").get_json()["items"]
    assert [(c["liaison"]["username"], c["active"]) for c in history] == [
        (world.other_liaison.username, True),
        (world.liaison.username, False),
    ]
    assert history[1]["ended_by"]["username"] == world.manager.username and history[1]["ended_at"]

    deputy = manager.call(
        "POST", "/coverage", {"building": new.id, "liaison": world.liaison.username, "kind": "deputy"}
    )
    assert deputy.status_code == 201
    again = manager.call(
        "POST", "/coverage", {"building": new.id, "liaison": world.liaison.username, "kind": "deputy"}
    )
    error_of(again, 409, "conflict")
    moved = manager.call("PATCH", f"/coverage/{deputy.get_json()['id']}", {"building": world.building.id})
    # world.liaison is already world.building's primary: one coverage per liaison and building
    error_of(moved, 409, "conflict")
    ended = manager.call("DELETE", f"/coverage/{deputy.get_json()['id']}")
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    error_of(manager.call("DELETE", f"/coverage/{deputy.get_json()['id']}"), 409, "conflict")
    active = manager.call("GET", f"/coverage?building={new.id}").get_json()["items"]
    assert [(c["liaison"]["username"], c["kind"]) for c in active] == [
        (world.other_liaison.username, "primary")
    ]


def test_a_new_building_covered_through_the_api_routes_its_first_request_to_its_liaison(
    client: FlaskClient, world: World
) -> None:
    manager = Manager(client, world.manager)
    building = manager.call(
        "POST", "/buildings", {"street": world.street.code, "name": "创新大厦"}
    ).get_json()
    newcomer = factories.liaison([])
    db.session.commit()
    manager.call(
        "POST", "/coverage", {"building": building["id"], "liaison": newcomer.username, "kind": "primary"}
    )
    enterprise = factories.enterprise(db.session.get(Building, building["id"]))
    contact = factories.enterprise_user(enterprise)
    ticket = tickets.submit_ticket(
        contact,
        now=factories.utcnow(),
        category=world.category.code,
        title="新楼宇的第一件诉求",
        description="网络尚未接通。",
        urgency="normal",
        contact_phone="13800138000",
    )

    decision = route_ticket(ticket.id, factories.utcnow())

    assert (decision.rule, ticket.assignee_id) == ("primary", newcomer.id)


def test_a_deputy_named_primary_stops_being_its_deputy(world: World) -> None:
    from hotline.district.services import assign_coverage

    deputy = factories.liaison([world.building], role=CoverageRole.DEPUTY)
    new = Building(street=world.street, name="空楼", address="")
    db.session.add(new)
    db.session.flush()
    assign_coverage(
        world.manager, factories.utcnow(), building=new.id, liaison=deputy.username, kind="deputy"
    )
    assign_coverage(
        world.manager, factories.utcnow(), building=new.id, liaison=deputy.username, kind="primary"
    )

    rows = db.session.scalars(
        select(Coverage).where(Coverage.building_id == new.id).order_by(Coverage.id)
    ).all()
    assert [(r.role, r.active) for r in rows] == [(CoverageRole.DEPUTY, False), (CoverageRole.PRIMARY, True)]


def test_a_write_that_loses_a_race_on_a_unique_index_is_a_409_not_a_500(
    client: FlaskClient, world: World
) -> None:
    """Two managers add the same street at the same moment: both pass the check for a taken code, the
    database keeps the first and the second is told someone else was quicker (here the race is played by a
    service call that skips the check)."""
    from hotline.errors import Conflict
    from hotline.web import perform

    def racing() -> Street:
        street = Street(code=world.street.code, name="同时添加的街道", name_en="", active=True)
        db.session.add(street)
        db.session.flush()
        return street

    with client.application.test_request_context(), pytest.raises(Conflict) as refused:
        perform(racing)
    assert refused.value.status == 409
    assert (
        db.session.scalar(select(func.count()).select_from(Street).where(Street.name == "同时添加的街道"))
        == 0
    )


def test_null_in_a_patch_leaves_the_value_as_it_is(client: FlaskClient, world: World) -> None:
    manager = Manager(client, world.manager)
    answer = manager.call("PATCH", f"/streets/{world.street.code}", {"name": None, "name_en": "Renamed"})
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["name"], answer.get_json()["name_en"]) == (world.street.name, "Renamed")


def test_onboarding_answers_every_problem_at_once_and_cuts_nothing(client: FlaskClient, world: World) -> None:
    manager = Manager(client, world.manager)
    body = {
        "uscc": "91310000BAD",
        "name": "新企业",
        "building": world.building.id,
        "room": "房" * 51,
        "contact": {
            "username": "fresh.contact",
            "name": "联系人",
            "phone": "12",
            "email": "not-an-address",
            "password": "Quiet-Lantern-2026",
        },
    }
    error = error_of(manager.call("POST", "/enterprises", body), 400, "validation_failed")
    assert {"uscc", "room", "contact.phone", "contact.email"} <= set(error["fields"]), error["fields"]
    huge = error_of(
        manager.call("POST", "/enterprises", {**body, "building": 2**70}), 400, "validation_failed"
    )
    assert "building" in huge["fields"]
