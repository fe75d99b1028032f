"""The meeting invite picker of a manager, whose district has many buildings (issue 12): its page lists
every building with its "all enterprises" box but only a bounded number of enterprises, costs the same few
statements however many buildings there are, and still invites a particular enterprise (listed on asking
for the ticked buildings, or typed in by credit code) and all of a building's.  A liaison's own buildings
keep their full list.

The district: 60 buildings of 10 enterprises each, on three streets, besides the small world's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import event, select

from hotline.enterprises.models import Building, Enterprise, Street
from hotline.extensions import db
from hotline.meetings import services
from hotline.meetings.models import Meeting
from hotline.meetings.views import PICKER_STAFF
from tests import factories
from tests.factories import World
from tests.functional.html import field_block, field_errors
from tests.functional.test_hostile_input import like_postgres  # noqa: F401  (a fixture, used by name)
from tests.functional.test_meeting_pages import SCHEDULED, as_user, clock, count, text  # noqa: F401
from tests.helpers import csrf_token

BUILDINGS = 60
PER_BUILDING = 10
STATEMENTS_MAX = 15  # the layout's own (the user, the unread notifications …) and the form's few
PAGE_MAX = 160_000  # bytes; the page listing all 600 enterprises was 227 000
ENTERPRISE_BOX = re.compile(r'name="invite" type="checkbox" value="([0-9A-Z]{18})"')
BUILDING_BOX = re.compile(r'name="invite_buildings" type="checkbox" value="(\d+)"')


def add_buildings(count: int, streets: int, prefix: str) -> list[Building]:
    """``count`` buildings of PER_BUILDING enterprises each, spread over ``streets`` new streets."""
    rows = [factories.street() for _ in range(streets)]
    buildings = []
    for k in range(count):
        building = Building(street=rows[k % streets], name=f"{prefix}楼{k:03d}", address=f"路{k}号")
        db.session.add(building)
        buildings.append(building)
        for j in range(PER_BUILDING):
            code = factories.make_uscc()
            db.session.add(Enterprise(uscc=code, name=f"{prefix}企业{k:03d}-{j}", building=building))
    db.session.commit()
    return buildings


@pytest.fixture
def district(world: World, clock: time_machine.Traveller) -> list[Building]:  # noqa: F811  (the fixture)
    return add_buildings(BUILDINGS, 3, "甲")


def enterprises_of(building: Building) -> list[Enterprise]:
    return list(
        db.session.scalars(
            select(Enterprise).where(Enterprise.building_id == building.id).order_by(Enterprise.id)
        )
    )


def selects(run: Callable[[], Any]) -> tuple[Any, int]:
    """What ``run`` returns, and the SELECT statements it took."""
    seen: list[str] = []

    def remember(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):  # not the test's savepoints
            seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        result = run()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    return result, len(seen)


def meeting_fields(**values: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": "tea_meeting",
        "title": "全区政企早茶会",
        "starts_at": "2026-03-10T08:30",
        "place": "区政务中心会议室",
    }
    fields.update(values)
    return fields


def group(html: str, building: Building) -> str:
    """The picker's group of ``building`` (its box and its listed enterprises)."""
    match = re.search(
        rf'<fieldset class="checkbox-group [^"]*" data-group="{building.id}">.*?</fieldset>', html, re.S
    )
    assert match, f"no group of {building.name} on the page"
    return match.group(0)


def test_a_managers_picker_lists_every_building_and_a_bounded_number_of_enterprises(
    client: FlaskClient, world: World, district: list[Building]
) -> None:
    as_user(client, world.manager)
    client.get("/meetings/")  # the layout's figures cached, as on any page after the first
    response, statements = selects(lambda: client.get("/meetings/new"))
    assert response.status_code == 200
    html = text(response)
    active = db.session.scalars(select(Building.id).where(Building.active.is_(True))).all()
    assert sorted(int(v) for v in BUILDING_BOX.findall(html)) == sorted(active)  # every building's box
    listed = ENTERPRISE_BOX.findall(html)
    assert 0 < len(listed) <= PICKER_STAFF
    assert f"a page lists {PICKER_STAFF} at most)" in html  # the others: by their building's box
    assert "press “List the enterprises of the ticked buildings”" in html
    assert 'name="action" value="list"' in html
    last = district[-1]
    assert not set(listed) & {e.uscc for e in enterprises_of(last)}
    assert re.search(rf'data-group="{last.id}"><input[^>]*value="{last.id}">.*?\(10\)', html)
    assert statements <= STATEMENTS_MAX
    assert len(response.get_data()) < PAGE_MAX

    # twenty buildings (two hundred enterprises) more, on two streets more: the same statements, and the
    # page only longer by their boxes
    add_buildings(20, 2, "乙")
    again, more_statements = selects(lambda: client.get("/meetings/new"))
    assert more_statements == statements
    assert len(ENTERPRISE_BOX.findall(text(again))) == len(listed)
    assert len(BUILDING_BOX.findall(text(again))) == len(active) + 20
    assert len(again.get_data()) - len(response.get_data()) < 20 * 1_000


def test_a_manager_lists_the_ticked_buildings_and_invites_one_enterprise_and_all_of_another(
    client: FlaskClient, world: World, district: list[Building]
) -> None:
    far, near, third = district[-1], district[-2], district[-3]
    chosen, typed = enterprises_of(far)[3], enterprises_of(third)[0]
    as_user(client, world.manager)
    page = text(client.get("/meetings/new"))
    assert chosen.uscc not in page  # far down the district: not listed at first

    buildings = [str(far.id), str(near.id), str(third.id)]
    listing = client.post(
        "/meetings/new",
        data=meeting_fields(csrf_token=csrf_token(page), buildings=buildings, action="list"),
    )
    assert listing.status_code == 200
    html = text(listing)
    assert count(Meeting) == 0  # nothing scheduled, nothing refused
    assert field_errors(html, "title") == [] and 'value="全区政企早茶会"' in html
    assert set(ENTERPRISE_BOX.findall(group(html, far))) == {e.uscc for e in enterprises_of(far)}
    first = re.search(r'<fieldset class="checkbox-group [^"]*" data-group="(\d+)"', html)
    assert first and int(first.group(1)) in {far.id, near.id, third.id}  # the ticked buildings first

    refused = client.post(
        "/meetings/new",
        data=meeting_fields(
            csrf_token=csrf_token(html),
            place="",
            buildings=buildings,
            invite=[chosen.uscc],
            invite_buildings=[str(near.id)],
            invite_codes=typed.uscc.lower(),
        ),
    )
    assert refused.status_code == 400
    html = text(refused)
    assert field_errors(html, "place") == ["This field is required."]
    assert re.search(rf'<input checked [^>]*name="invite" type="checkbox" value="{chosen.uscc}"', html)
    assert re.search(rf'<input checked [^>]*name="invite_buildings" type="checkbox" value="{near.id}"', html)
    assert typed.uscc.lower() in field_block(html, "invite_codes")  # what was typed stays
    assert count(Meeting) == 0

    done = client.post(
        "/meetings/new",
        data=meeting_fields(
            csrf_token=csrf_token(html),
            buildings=buildings,
            invite=[chosen.uscc],
            invite_buildings=[str(near.id)],
            invite_codes=f" {typed.uscc.lower()},\n{chosen.uscc}",
        ),
    )
    assert done.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    invited = {i.enterprise.uscc for i in meeting.invitations if i.invited}
    assert invited == {chosen.uscc, typed.uscc, *(e.uscc for e in enterprises_of(near))}


def test_a_code_of_another_building_is_refused_at_the_picker(
    client: FlaskClient, world: World, district: list[Building]
) -> None:
    outside = enterprises_of(district[0])[0]
    as_user(client, world.manager)
    page = text(client.get("/meetings/new"))
    refused = client.post(
        "/meetings/new",
        data=meeting_fields(
            csrf_token=csrf_token(page), buildings=[str(district[-1].id)], invite_codes=outside.uscc
        ),
    )
    assert refused.status_code == 400
    html = text(refused)
    assert field_errors(html, "invite") == [f"Not in a building the meeting serves: {outside.name}."]
    assert outside.uscc in field_block(html, "invite_codes")
    assert count(Meeting) == 0


def test_the_edit_page_of_a_district_meeting_lists_a_bounded_number_and_invites_by_code(
    client: FlaskClient, world: World, district: list[Building]
) -> None:
    meeting = services.schedule_meeting(
        world.manager,
        SCHEDULED,
        {
            "kind": "roundtable",
            "title": "全区恳谈会",
            "starts_at": "2026-03-10 08:30",
            "place": "区政务中心",
            "host": world.manager.username,
            "buildings": [b.id for b in district],
            "invite_buildings": [district[0].id],
        },
    )
    db.session.commit()
    url = f"/meetings/{meeting.id}/edit"
    as_user(client, world.manager)
    client.get("/meetings/")
    response, statements = selects(lambda: client.get(url))
    html = text(response)
    listed = ENTERPRISE_BOX.findall(html)
    assert 0 < len(listed) <= PICKER_STAFF
    assert not set(listed) & {e.uscc for e in enterprises_of(district[0])}  # invited already: not offered
    assert len(BUILDING_BOX.findall(html)) == BUILDINGS
    assert "to invite some, type their credit codes below" in html and 'value="list"' not in html
    assert statements <= STATEMENTS_MAX and len(response.get_data()) < PAGE_MAX

    far = enterprises_of(district[-1])[0]
    assert far.uscc not in html
    done = client.post(
        url,
        data={
            "csrf_token": csrf_token(html),
            "title": "全区恳谈会",
            "starts_at": "2026-03-10T08:30",
            "ends_at": "2026-03-10T10:00",
            "place": "区政务中心",
            "host": world.manager.username,
            "invite_codes": far.uscc,
        },
    )
    assert done.status_code == 302
    db.session.expire_all()
    invited = {i.enterprise_id for i in db.session.get(Meeting, meeting.id).invitations}  # type: ignore[union-attr]
    assert invited == {*(e.id for e in enterprises_of(district[0])), far.id}


def test_a_liaison_sees_every_enterprise_of_its_buildings(
    client: FlaskClient, world: World, district: list[Building]
) -> None:
    own = district[:35]  # 350 enterprises: more than a manager's page lists
    liaison = factories.liaison(own)
    db.session.commit()
    as_user(client, liaison)
    html = text(client.get("/meetings/new"))
    listed = set(ENTERPRISE_BOX.findall(html))
    assert listed == {e.uscc for b in own for e in enterprises_of(b)}
    assert sorted(int(v) for v in BUILDING_BOX.findall(html)) == sorted(b.id for b in own)
    assert "are not listed" not in html and 'value="list"' not in html
    assert world.enterprise.uscc not in html
    street: Street = own[0].street
    assert street.name in html


@pytest.mark.usefixtures("like_postgres")
def test_hostile_values_in_the_picker_are_never_a_500(
    client: FlaskClient, world: World, district: list[Building]
) -> None:
    as_user(client, world.manager)
    page = text(client.get("/meetings/new"))
    hostile = [
        "9" * 20,
        str(2**63),
        "-1",
        "x" * 4_000,
        "%FF",
        "<script>",
        "９１１",
        "ＡＢＣ" * 6,
    ]  # NUL: 400 upfront
    for action in ("list", "schedule"):
        answer = client.post(
            "/meetings/new",
            data=meeting_fields(
                csrf_token=csrf_token(page),
                action=action,
                buildings=hostile,
                street=hostile,
                invite=hostile,
                invite_buildings=hostile,
                invite_codes="\n".join(hostile),
            ),
        )
        assert answer.status_code == (200 if action == "list" else 400), action
        assert "<script>" not in text(answer)
    assert count(Meeting) == 0
