"""An enterprise's profile (issue 12, point 5): ``/enterprises/<uscc>`` for the liaisons of its building and
the managers, the portal's page of the enterprise for its own contacts, and
``GET /api/v1/enterprises/<uscc>``.

Time is frozen on Friday 20 March 2026, 10:00 in Shanghai, with the 2026 calendar loaded.  The field record: a
tea meeting on 10 March that the enterprise attended (one request raised there), and a visit on 12 March.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from hotline.enterprises import uscc as uscc_codes
from hotline.enterprises.models import Enterprise
from hotline.extensions import db
from hotline.meetings import services as meetings
from hotline.meetings.models import Meeting, Visit
from hotline.sla import services as sla
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket
from tests import factories
from tests.factories import World
from tests.functional.html import row
from tests.functional.test_api import Api
from tests.helpers import login as login_in_chinese

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # Friday 20 March 2026, 10:00 in Shanghai
SCHEDULED = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
STARTS = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
AFTER = STARTS + timedelta(hours=2)


@dataclass
class Field:
    world: World
    meeting: Meeting
    visit: Visit
    raised: Ticket  # the request raised at the meeting


@pytest.fixture
def frozen() -> Iterator[datetime]:
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def field(app: Flask, frozen: datetime, world: World) -> Field:
    sla.sync_calendar_from_package(SCHEDULED, years=[2026])
    world.contact.phone = "13911112222"
    world.liaison.phone = "13700001111"
    meeting = meetings.schedule_meeting(
        world.liaison,
        SCHEDULED,
        {
            "kind": "tea_meeting",
            "title": "三月政企早茶会",
            "starts_at": "2026-03-10 08:30",
            "place": "大厦一楼会议室",
            "buildings": [world.building.id],
            "invite_buildings": [world.building.id],
        },
    )
    [raised] = meetings.file_meeting_requests(
        meeting.id,
        world.liaison,
        AFTER,
        [
            {
                "enterprise_uscc": world.enterprise.uscc,
                "category": world.category.code,
                "title": "园区道路照明不足",
                "description": "晚上下班时园区道路太暗。",
                "contact_phone": "13800138000",
            }
        ],
    )
    visit, _filed = meetings.log_visit(
        world.liaison,
        NOW,
        {
            "enterprise_uscc": world.enterprise.uscc,
            "visited_on": "2026-03-12",
            "met": "张总（总经理）",
            "notes": "了解了扩租需求，内部评估：需重点跟进。",
        },
    )
    db.session.commit()
    return Field(world, meeting, visit, raised)


def login(client: FlaskClient, username: str) -> None:
    """Log in and read the pages in English."""
    login_in_chinese(client, username)
    assert client.get("/lang/en").status_code == 302


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def figure(html: str, name: str) -> str:
    match = re.search(rf'id="profile-{name}">.*?class="fs-4 figure-value">([^<]*)<', html, re.S)
    assert match, f"no figure {name!r}"
    return match.group(1).strip()


def profile_url(enterprise: Enterprise) -> str:
    return f"/enterprises/{enterprise.uscc}"


# --------------------------------------------------------------------------- who sees it


def test_the_liaison_of_the_building_sees_the_whole_profile(client: FlaskClient, field: Field) -> None:
    w = field.world
    login(client, w.liaison.username)
    html = page(client, profile_url(w.enterprise))
    assert w.enterprise.name in html and w.enterprise.uscc in html
    assert f"{w.street.name} · {w.building.name}" in html
    # its contacts, with their logins and phones (staff only)
    contact = re.search(rf'<tr[^>]*data-username="{w.contact.username}".*?</tr>', html, re.S)
    assert contact and "13911112222" in contact.group(0)
    # the building's liaison, as its primary one
    liaison = re.search(rf'<li[^>]*data-liaison="{w.liaison.username}".*?</li>', html, re.S)
    assert liaison and 'data-kind="primary"' in liaison.group(0) and "Primary liaison" in liaison.group(0)
    # the meeting it attended, the visit with whom was met and the notes, and the request raised
    meeting = row(html, f"meeting-{field.meeting.id}")
    assert "三月政企早茶会" in meeting and 'data-attended="yes"' in meeting
    visit = row(html, f"visit-{field.visit.id}")
    assert "2026-03-12" in visit and "张总（总经理）" in visit and "需重点跟进" in visit
    assert field.raised.number in html and "园区道路照明不足" in html
    # the page it came from stays reachable, and the enterprise list and the detail page lead here
    assert f'href="/enterprises/{w.enterprise.id}"' in html
    assert f'href="{profile_url(w.enterprise)}"' in page(client, "/enterprises/")
    assert f'href="{profile_url(w.enterprise)}"' in page(client, f"/enterprises/{w.enterprise.id}")


def test_a_manager_sees_any_profile(client: FlaskClient, field: Field) -> None:
    w = field.world
    login(client, w.manager.username)
    assert w.other_enterprise.name in page(client, profile_url(w.other_enterprise))
    html = page(client, profile_url(w.enterprise))
    assert "三月政企早茶会" in html and field.raised.number in html


@pytest.mark.parametrize("who", ["other_liaison", "department_user", "other_contact"])
def test_anyone_else_gets_404(client: FlaskClient, field: Field, who: str) -> None:
    login(client, getattr(field.world, who).username)
    html = page(client, profile_url(field.world.enterprise), 404)
    assert field.world.enterprise.name not in html
    assert "三月政企早茶会" not in html


def test_unknown_and_malformed_codes_are_404(client: FlaskClient, field: Field) -> None:
    login(client, field.world.manager.username)
    page(client, f"/enterprises/{factories.make_uscc(999_999_999)}", 404)  # valid, not registered
    page(client, "/enterprises/IIIIIIIIIIIIIIIIII", 404)  # letters no code uses
    page(client, "/enterprises/91110105MA0000001", 404)  # 17 characters: no route


def test_the_enterprises_own_contact_is_sent_to_its_portal_page(client: FlaskClient, field: Field) -> None:
    login(client, field.world.contact.username)
    response = client.get(profile_url(field.world.enterprise))
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/enterprise")


def test_a_lower_case_code_finds_the_enterprise(client: FlaskClient, field: Field) -> None:
    login(client, field.world.liaison.username)
    assert field.world.enterprise.name in page(client, profile_url(field.world.enterprise).lower())


def test_an_all_digit_code_is_the_profile_and_an_id_is_still_the_detail_page(
    client: FlaskClient, field: Field
) -> None:
    code = next(c for i in range(1, 100) if (c := uscc_codes.make(f"91110105{i:09d}")).isdigit())
    digits = factories.enterprise(field.world.building, name="全数字代码企业")
    digits.uscc = code
    db.session.commit()
    login(client, field.world.liaison.username)
    html = page(client, f"/enterprises/{code}")
    assert "全数字代码企业" in html and 'id="requests"' in html  # the profile, not the detail page
    detail = page(client, f"/enterprises/{digits.id}")
    assert "全数字代码企业" in detail and 'id="requests"' not in detail
    assert f'href="/enterprises/{code}"' in detail


# --------------------------------------------------------------------------- its requests and figures


def _filed(contact, world: World, title: str) -> Ticket:  # type: ignore[no-untyped-def]
    return tickets.submit_ticket(
        contact,
        category=world.category.code,
        title=title,
        description="说明",
        urgency="normal",
        contact_phone="13800138000",
        now=NOW,
    )


def _resolved(ticket: Ticket, world: World) -> Ticket:
    tickets.assign(ticket.id, world.manager, world.liaison.username, NOW)
    tickets.acknowledge(ticket.id, world.liaison, NOW)
    tickets.resolve(ticket.id, world.liaison, "已答复。", NOW)
    return ticket


def test_its_own_rates_show_a_dash_with_nothing_to_count_then_real_percentages(
    client: FlaskClient, field: Field
) -> None:
    w = field.world
    fresh = factories.enterprise(w.building, name="新入驻企业")
    contact = factories.enterprise_user(fresh)
    db.session.commit()
    login(client, w.liaison.username)
    html = page(client, profile_url(fresh))
    assert (figure(html, "total"), figure(html, "closure-rate"), figure(html, "satisfaction-rate")) == (
        "0",
        "—",
        "—",
    )

    first = _resolved(_filed(contact, w, "第一件"), w)
    second = _resolved(_filed(contact, w, "第二件"), w)
    _filed(contact, w, "第三件")
    db.session.commit()
    html = page(client, profile_url(fresh))
    assert figure(html, "closure-rate") == "66.7%"
    assert (figure(html, "rated"), figure(html, "satisfaction-rate")) == ("0", "—")  # nothing rated yet

    tickets.rate(first.id, contact, "satisfied", "", NOW + timedelta(hours=1))
    tickets.rate(second.id, contact, "dissatisfied", "没解决", NOW + timedelta(hours=1))  # reopened
    db.session.commit()
    html = page(client, profile_url(fresh))
    assert figure(html, "resolved") == "1"
    assert figure(html, "closure-rate") == "33.3%"
    assert (figure(html, "rated"), figure(html, "satisfaction-rate")) == ("2", "50.0%")


def test_its_requests_are_paginated_and_filtered_by_state_and_words(
    client: FlaskClient, field: Field, app: Flask
) -> None:
    w = field.world
    per_page = app.config["PER_PAGE"]
    for i in range(per_page + 2):
        _filed(w.contact, w, f"停车问题{i:02d}")
    closed = _resolved(_filed(w.contact, w, "电梯维修"), w)
    tickets.rate(closed.id, w.contact, "satisfied", "", NOW)
    db.session.commit()
    login(client, w.liaison.username)
    url = profile_url(w.enterprise)
    first = page(client, url)
    assert first.count('<a href="/tickets/') == per_page
    assert f"{url}?page=2" in first.replace("&amp;", "&")
    second = page(client, f"{url}?page=2")
    assert second.count('<a href="/tickets/') == per_page + 4 - per_page  # 2 + the meeting's + the closed one
    only_closed = page(client, f"{url}?state=closed")
    assert closed.number in only_closed and only_closed.count('<a href="/tickets/') == 1
    found = page(client, f"{url}?q=电梯")
    assert closed.number in found and found.count('<a href="/tickets/') == 1
    assert f'action="{url}"' in found  # the search box stays on the profile
    refused = page(client, f"{url}?q=电")  # a one-character word: said next to the box, the list stays
    assert 'id="q-error"' in refused and refused.count('<a href="/tickets/') == per_page


def test_a_liaison_sees_only_the_requests_it_may_open(client: FlaskClient, field: Field) -> None:
    w = field.world
    moved = _filed(w.contact, w, "旧楼宇时的诉求")
    moved.building_id = w.other_enterprise.building_id  # filed when the enterprise was elsewhere
    db.session.commit()
    login(client, w.liaison.username)
    html = page(client, profile_url(w.enterprise))
    assert moved.number not in html and field.raised.number in html


# --------------------------------------------------------------------------- the portal's page


def test_its_contact_sees_its_enterprise_in_the_portal(client: FlaskClient, field: Field) -> None:
    w = field.world
    colleague = factories.enterprise_user(w.enterprise)
    colleague.phone = "13655556666"
    db.session.commit()
    login(client, w.contact.username)
    portal = page(client, "/portal/")
    assert 'href="/portal/enterprise"' in portal and "My enterprise" in portal
    html = page(client, "/portal/enterprise")
    assert w.enterprise.name in html and w.building.name in html
    assert w.liaison.name in html and "13700001111" in html  # whom to call
    assert 'data-attended="yes"' in row(html, f"meeting-{field.meeting.id}")
    visit = row(html, f"visit-{field.visit.id}")
    assert "张总（总经理）" in visit and w.liaison.name in visit
    assert "需重点跟进" not in html  # the liaison's notes are the staff's
    assert "13655556666" not in html and colleague.username not in html
    assert 'href="/portal/"' in html  # its requests are the portal's list
    assert figure(html, "total") == "1"


def test_a_claimant_without_an_enterprise_goes_to_the_portal(client: FlaskClient, field: Field) -> None:
    claimant = factories.enterprise_user(field.world.enterprise)
    claimant.enterprise_id = None  # a claim not confirmed (hotline.enterprises.claims)
    db.session.commit()
    login(client, claimant.username)
    assert 'href="/portal/enterprise"' not in page(client, "/portal/")
    response = client.get("/portal/enterprise")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")


# --------------------------------------------------------------------------- the API


PROFILE_KEYS = {
    "uscc",
    "name",
    "building_id",
    "building",
    "street",
    "room",
    "industry",
    "verified",
    "verified_at",
    "contacts",
    "liaisons",
    "figures",
    "meetings",
    "visits",
    "requests",
}


def test_the_api_gives_the_liaison_the_profile(client: FlaskClient, field: Field) -> None:
    w = field.world
    data = Api(client, w.liaison).get(profile_url(w.enterprise)).get_json()
    assert set(data) == PROFILE_KEYS
    assert (data["uscc"], data["building"], data["street"]) == (
        w.enterprise.uscc,
        w.building.name,
        w.street.name,
    )
    assert data["contacts"] == [
        {
            "name": w.contact.name,
            "username": w.contact.username,
            "phone": "13911112222",
            "email": w.contact.email,
            "active": True,
        }
    ]
    assert data["liaisons"] == [
        {"username": w.liaison.username, "name": w.liaison.name, "role": "primary", "phone": "13700001111"}
    ]
    assert data["figures"] == {
        "total": 1,
        "resolved": 0,
        "closure_rate": 0.0,
        "rated": 0,
        "satisfaction_rate": None,
    }
    [meeting] = data["meetings"]
    assert (meeting["id"], meeting["kind"], meeting["attended"], meeting["state"]) == (
        field.meeting.id,
        "tea_meeting",
        True,
        "held",
    )
    assert meeting["starts_at"] == "2026-03-10T08:30:00+08:00"
    [visit] = data["visits"]
    assert visit["visited_on"] == "2026-03-12" and visit["met"] == "张总（总经理）"
    assert visit["liaison"] == {"username": w.liaison.username, "name": w.liaison.name}
    assert "需重点跟进" in visit["notes"]
    assert [t["number"] for t in data["requests"]["items"]] == [field.raised.number]
    assert data["requests"]["total"] == 1


def test_the_api_gives_a_contact_its_own_enterprise_without_the_others_details(
    client: FlaskClient, field: Field
) -> None:
    w = field.world
    colleague = factories.enterprise_user(w.enterprise)
    colleague.phone = "13655556666"
    db.session.commit()
    data = Api(client, w.contact).get(profile_url(w.enterprise)).get_json()
    by_name = {c["name"]: c for c in data["contacts"]}
    assert by_name[colleague.name] == {
        "name": colleague.name,
        "username": None,
        "phone": None,
        "email": None,
        "active": True,
    }
    assert by_name[w.contact.name]["phone"] == "13911112222"  # its own row
    assert data["visits"][0]["notes"] is None
    assert data["requests"]["total"] == 1


@pytest.mark.parametrize("who", ["other_liaison", "department_user", "other_contact"])
def test_the_api_answers_404_to_anyone_else(client: FlaskClient, field: Field, who: str) -> None:
    response = Api(client, getattr(field.world, who)).get(profile_url(field.world.enterprise))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_api_pages_and_filters_the_requests_and_refuses_bad_arguments(
    client: FlaskClient, field: Field
) -> None:
    w = field.world
    closed = _resolved(_filed(w.contact, w, "电梯维修"), w)
    tickets.rate(closed.id, w.contact, "satisfied", "", NOW)
    db.session.commit()
    api = Api(client, w.manager)
    url = profile_url(w.enterprise)
    only = api.get(url, query_string={"state": "closed"}).get_json()["requests"]
    assert [t["number"] for t in only["items"]] == [closed.number] and only["total"] == 1
    assert only["items"][0]["rating"]["score"] == "satisfied"
    found = api.get(url, query_string={"q": "电梯"}).get_json()["requests"]
    assert [t["number"] for t in found["items"]] == [closed.number]
    paged = api.get(url, query_string={"per_page": 1, "page": 2}).get_json()["requests"]
    assert (paged["page"], paged["pages"], len(paged["items"])) == (2, 2, 1)
    for args, name in (({"state": "nonsense"}, "state"), ({"q": "电"}, "q"), ({"page": "x"}, "page")):
        response = api.get(url, query_string=args)
        assert response.status_code == 400, args
        assert name in response.get_json()["error"]["fields"]
    assert api.get("/enterprises/NOT-A-CODE").status_code == 404
    assert api.get(f"/enterprises/{'9' * 300}").status_code == 404


def test_the_profile_is_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/enterprises/{uscc}"]["get"]
    assert "200" in operation["responses"] and "404" in operation["responses"]
    schema = document["components"]["schemas"]["EnterpriseProfile"]
    assert set(schema["properties"]) >= PROFILE_KEYS
    assert {"field_coverage", "field_covered", "field_buildings"} <= set(
        document["components"]["schemas"]["StatsSummary"]["properties"]
    )
