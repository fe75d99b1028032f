"""Enterprises edited and given contacts on their pages and through the API; claims on a registered code;
requests of unverified enterprises marked on every list (issue 10, point 4)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from hotline.auth.models import User
from hotline.db import utcnow
from hotline.enterprises.models import ClaimState, CoverageRole, Enterprise, EnterpriseClaim
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.timeutil import local_date
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors, row
from tests.functional.test_api import API, Api, error_of
from tests.helpers import login, post_form


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def english_api(api: Api) -> Api:
    api.headers["Accept-Language"] = "en"
    return api


def patch(api: Api, path: str, body: Any) -> Any:
    return api.client.patch(f"{API}{path}", json=body, headers=api.headers)


def delete(api: Api, path: str) -> Any:
    return api.client.delete(f"{API}{path}", headers=api.headers)


def registration(world: World, uscc: str, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "uscc": uscc,
        "name": "真正的公司",
        "building": world.building.id,
        "room": "8F",
        "contact_name": "真经理",
        "phone": "13900139000",
        "email": "",
        "username": "realboss",
        "password": "a-long-password-1",
        "confirm": "a-long-password-1",
    }
    data.update(changes)
    return data


# --------------------------------------------------------------------------- the edit page


def test_the_liaison_edits_and_moves_its_enterprise_on_the_page(client: FlaskClient, world: World) -> None:
    second = factories.building(world.street, name="第二大厦")
    db.session.add(
        factories.Coverage(liaison_id=world.liaison.id, building_id=second.id, role=CoverageRole.DEPUTY)
    )
    db.session.commit()
    login(client, world.liaison.username)
    detail = client.get(f"/enterprises/{world.enterprise.id}").get_data(as_text=True)
    assert f"/enterprises/{world.enterprise.id}/edit" in detail
    page = f"/enterprises/{world.enterprise.id}/edit"
    form = client.get(page).get_data(as_text=True)
    assert world.enterprise.uscc in form and 'name="uscc"' not in form  # shown, not editable
    response = post_form(
        client, page, page, {"name": "改名科技", "building": second.id, "room": "3F", "industry": "软件"}
    )
    assert response.status_code == 302
    enterprise = db.session.get(Enterprise, world.enterprise.id)
    assert enterprise is not None
    assert (enterprise.name, enterprise.building_id, enterprise.industry) == ("改名科技", second.id, "软件")
    shown = client.get(f"/enterprises/{world.enterprise.id}").get_data(as_text=True)
    assert "改名科技" in shown and "第二大厦" in shown and "软件" in shown


def test_a_bad_edit_is_shown_next_to_the_field_and_nothing_saved(client: FlaskClient, world: World) -> None:
    login(client, world.liaison.username)
    page = f"/enterprises/{world.enterprise.id}/edit"
    name = world.enterprise.name
    response = post_form(
        client, page, page, {"name": "名\x00称", "building": world.building.id, "room": "", "industry": ""}
    )
    assert response.status_code == 400  # refused before the view (hotline.urls), as on every page
    response = post_form(
        client, page, page, {"name": " ", "building": world.building.id, "room": "x" * 51, "industry": ""}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_errors(html, "name") and field_errors(html, "room")
    response = post_form(client, page, page, {"name": "x", "building": 10**30, "room": "", "industry": ""})
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "building")
    db.session.expire_all()
    assert db.session.get(Enterprise, world.enterprise.id).name == name  # type: ignore[union-attr]


def test_another_buildings_liaison_and_contacts_cannot_open_the_edit_page(
    client: FlaskClient, world: World
) -> None:
    login(client, world.other_liaison.username)
    assert client.get(f"/enterprises/{world.enterprise.id}/edit").status_code == 404
    assert client.get(f"/enterprises/{world.enterprise.id}/contacts/new").status_code == 404
    other = client.application.test_client()
    login(other, world.contact.username)
    assert other.get(f"/enterprises/{world.enterprise.id}/edit").status_code == 403


# --------------------------------------------------------------------------- contacts on the page


def test_contacts_are_added_and_deactivated_on_the_enterprise_page(client: FlaskClient, world: World) -> None:
    login(client, world.liaison.username)
    page = f"/enterprises/{world.enterprise.id}/contacts/new"
    values = {
        "name": "新同事",
        "phone": "13700137000",
        "email": "",
        "username": world.contact.username,
        "password": "a-long-password-1",
        "confirm": "a-long-password-1",
    }
    refused = post_form(client, page, page, values)
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "username")
    added = post_form(client, page, page, {**values, "username": "colleague7"})
    assert added.status_code == 302
    detail_url = f"/enterprises/{world.enterprise.id}"
    html = client.get(detail_url).get_data(as_text=True)
    assert "colleague7" in html and "新同事" in html

    remove = f"/enterprises/{world.enterprise.id}/contacts/{world.contact.username}/remove"
    response = post_form(client, detail_url, remove, {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.contact.id).active is False  # type: ignore[union-attr]
    # the last active one is kept: the page says why, nothing changes
    last = f"/enterprises/{world.enterprise.id}/contacts/colleague7/remove"
    response = post_form(client, detail_url, last, {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(User.active).where(User.username == "colleague7")).one() is True
    assert client.post(last, data={}).status_code == 400  # no CSRF token


# --------------------------------------------------------------------------- claims on the pages


def test_registering_a_registered_code_is_a_claim_decided_by_the_liaison(
    client: FlaskClient, world: World
) -> None:
    ticket = world.submit()
    db.session.commit()
    enterprises = count(Enterprise)
    response = post_form(client, "/register", "/register", registration(world, world.enterprise.uscc))
    assert response.status_code == 302
    assert count(Enterprise) == enterprises
    portal = client.get("/portal/").get_data(as_text=True)
    assert 'data-claim="pending"' in portal
    assert ticket.number not in portal
    assert 'href="/portal/new"' not in portal  # nothing to file with until the claim is confirmed
    assert client.get(f"/tickets/{ticket.number}").status_code == 404

    liaison = client.application.test_client()
    login(liaison, world.liaison.username)
    claim = db.session.scalars(select(EnterpriseClaim)).one()
    listed = liaison.get("/enterprises/claims/").get_data(as_text=True)
    assert "realboss" in row(listed, f"claim-{claim.id}")
    assert f"/enterprises/claims/{claim.id}" in liaison.get(f"/enterprises/{world.enterprise.id}").get_data(
        as_text=True
    )
    page = f"/enterprises/claims/{claim.id}"
    refused = post_form(liaison, page, page, {"decision": "reject", "note": ""})
    assert refused.status_code == 400
    assert field_errors(refused.get_data(as_text=True), "note")
    confirmed = post_form(liaison, page, page, {"decision": "confirm", "note": "电话核实"})
    assert confirmed.status_code == 302

    portal = client.get("/portal/").get_data(as_text=True)
    assert ticket.number in portal and "claim-status" not in portal
    assert 'href="/portal/new"' in portal
    notices = client.get("/notifications/").get_data(as_text=True)
    assert "电话核实" in notices
    other = client.application.test_client()
    login(other, world.other_liaison.username)
    assert other.get(page).status_code == 404
    assert "realboss" not in other.get("/enterprises/claims/?state=all").get_data(as_text=True)


def test_a_rejected_claimant_reads_why(client: FlaskClient, world: World) -> None:
    post_form(client, "/register", "/register", registration(world, world.enterprise.uscc))
    claim = db.session.scalars(select(EnterpriseClaim)).one()
    manager = client.application.test_client()
    login(manager, world.manager.username)
    page = f"/enterprises/claims/{claim.id}"
    assert post_form(manager, page, page, {"decision": "reject", "note": "执照不符"}).status_code == 302
    portal = client.get("/portal/").get_data(as_text=True)
    assert 'data-claim="rejected"' in portal and "执照不符" in portal
    assert manager.get("/enterprises/claims/99999999999999999999999").status_code == 404


# --------------------------------------------------------------------------- the API


def test_staff_onboard_an_enterprise_through_the_api(client: FlaskClient, world: World) -> None:
    liaison = english_api(Api(client, world.liaison))
    code = factories.make_uscc()
    body = {
        "uscc": code,
        "name": "接口企业",
        "building": world.building.id,
        "room": "5F",
        "contact": {
            "username": "apicontact",
            "name": "接口联系人",
            "phone": "13600136000",
            "password": "a-long-password-1",
        },
    }
    created = liaison.post("/enterprises", body)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert answer["uscc"] == code and answer["verified"] is True
    assert [c["username"] for c in answer["contacts"]] == ["apicontact"]

    again = error_of(liaison.post("/enterprises", body), 400, "validation_failed")
    assert set(again["fields"]) == {"uscc", "contact.username"}
    elsewhere = {**body, "uscc": factories.make_uscc(), "building": world.other_enterprise.building_id}
    elsewhere["contact"] = {**body["contact"], "username": "apicontact2"}  # type: ignore[dict-item]
    refused = error_of(liaison.post("/enterprises", elsewhere), 400, "validation_failed")
    assert set(refused["fields"]) == {"building"}
    assert error_of(Api(client, world.contact).post("/enterprises", body), 403, "forbidden")


def test_hostile_onboarding_bodies_are_400(client: FlaskClient, world: World) -> None:
    manager = english_api(Api(client, world.manager))
    enterprises, users = count(Enterprise), count(User)
    for body in (
        [],
        {"uscc": factories.make_uscc(), "name": "x", "building": "1", "contact": "nope"},
        {"uscc": "\x00", "name": "x", "building": 10**30, "contact": {"username": ["a"]}},
        {"uscc": factories.make_uscc(), "name": "x", "building": True, "contact": {}},
        {"uscc": factories.make_uscc(), "name": "x" * 201, "building": world.building.id, "contact": None},
    ):
        response = manager.post("/enterprises", body)
        assert response.status_code == 400, (body, response.get_json())
    nested = '{"a": ' * 5000 + "{}" + "}" * 5000
    response = client.post(
        f"{API}/enterprises", data=nested, headers={**manager.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (count(Enterprise), count(User)) == (enterprises, users)


def test_patch_an_enterprise(client: FlaskClient, world: World) -> None:
    liaison = english_api(Api(client, world.liaison))
    path = f"/enterprises/{world.enterprise.uscc}"
    changed = patch(liaison, path, {"room": "9F", "industry": "物流"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["room"], changed.get_json()["industry"]) == ("9F", "物流")
    assert changed.get_json()["name"] == world.enterprise.name  # absent keys stay
    other_code = factories.make_uscc()
    refused = error_of(patch(liaison, path, {"uscc": other_code, "name": ""}), 400, "validation_failed")
    assert refused["fields"] == {
        "uscc": "The unified social credit code of an enterprise cannot be changed.",
        "name": "This field is required.",
    }
    for body in ({"building": "x"}, {"building": 10**30}, {"name": "a\x00"}, {"room": ["x"]}):
        assert patch(liaison, path, body).status_code == 400, body
    assert error_of(patch(Api(client, world.other_liaison), path, {"room": "1"}), 404, "not_found")
    assert error_of(patch(Api(client, world.contact), path, {"room": "1"}), 403, "forbidden")
    assert patch(liaison, "/enterprises/%00", {"room": "1"}).status_code == 404


def test_contacts_through_the_api(client: FlaskClient, world: World) -> None:
    manager = english_api(Api(client, world.manager))
    path = f"/enterprises/{world.enterprise.uscc}/contacts"
    body = {
        "username": "apicolleague",
        "name": "同事",
        "phone": "13500135000",
        "password": "a-long-password-1",
    }
    created = manager.post(path, body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {
        "username": "apicolleague",
        "name": "同事",
        "phone": "13500135000",
        "email": "",
        "active": True,
    }
    duplicate = error_of(manager.post(path, body), 400, "validation_failed")
    assert duplicate["fields"] == {"username": "This username is taken."}

    removed = delete(manager, f"{path}/{world.contact.username}")
    assert removed.status_code == 200 and removed.get_json()["active"] is False
    assert error_of(delete(manager, f"{path}/{world.contact.username}"), 409, "invalid_transition")
    assert error_of(delete(manager, f"{path}/apicolleague"), 409, "conflict")  # the last active one
    assert error_of(delete(manager, f"{path}/{world.other_contact.username}"), 404, "not_found")
    assert delete(manager, f"{path}/a%00b").status_code == 404


def test_claims_through_the_api(client: FlaskClient, world: World) -> None:
    post_form(client, "/register", "/register", registration(world, world.enterprise.uscc))
    second = client.application.test_client()
    post_form(second, "/register", "/register", registration(world, world.enterprise.uscc, username="fake"))
    first, fake = db.session.scalars(select(EnterpriseClaim).order_by(EnterpriseClaim.id)).all()
    liaison = english_api(Api(client.application.test_client(), world.liaison))

    listed = liaison.get("/enterprises/claims")
    assert listed.status_code == 200
    items = listed.get_json()["items"]
    assert [(c["id"], c["claimant"]["username"], c["state"]) for c in items] == [
        (first.id, "realboss", "pending"),
        (fake.id, "fake", "pending"),
    ]
    assert items[0]["enterprise"]["uscc"] == world.enterprise.uscc
    assert (
        Api(client.application.test_client(), world.other_liaison)
        .get("/enterprises/claims")
        .get_json()["items"]
        == []
    )
    assert liaison.get("/enterprises/claims?state=bogus").status_code == 400

    no_note = error_of(liaison.post(f"/enterprises/claims/{fake.id}/reject", {}), 400, "validation_failed")
    assert set(no_note["fields"]) == {"note"}
    rejected = liaison.post(f"/enterprises/claims/{fake.id}/reject", {"note": "不是本公司员工"})
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    confirmed = liaison.post(f"/enterprises/claims/{first.id}/confirm", {"note": None})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["decided_by"]["username"] == world.liaison.username
    assert error_of(liaison.post(f"/enterprises/claims/{first.id}/confirm", {}), 409, "invalid_transition")
    assert liaison.post(f"/enterprises/claims/{10**30}/confirm", {}).status_code == 404
    assert liaison.post("/enterprises/claims/abc/confirm", {}).status_code == 404
    assert liaison.post(f"/enterprises/claims/{first.id}/confirm", {"note": {"x": 1}}).status_code == 400
    assert db.session.scalars(select(EnterpriseClaim.state).order_by(EnterpriseClaim.id)).all() == [
        ClaimState.CONFIRMED,
        ClaimState.REJECTED,
    ]
    pending = liaison.get("/enterprises/claims").get_json()["items"]
    assert pending == []
    assert len(liaison.get("/enterprises/claims?state=rejected").get_json()["items"]) == 1


# --------------------------------------------------------------------------- unverified requests marked


def test_requests_of_unverified_enterprises_are_marked_on_every_list(
    client: FlaskClient, world: World
) -> None:
    unverified = world.submit()
    world.other_enterprise.verified_at = utcnow()
    other_ticket = tickets.submit_ticket(
        world.other_contact,
        category=world.category.code,
        title="已核验企业的诉求",
        description="说明",
        contact_phone="13800138000",
        now=utcnow(),
    )
    db.session.commit()
    manager = client.application.test_client()
    login(manager, world.manager.username)
    month = local_date(utcnow()).strftime("%Y-%m")
    for url in (
        "/manage/tickets",
        "/manage/pool",
        f"/manage/dashboard/requests?figure=total&period=month&value={month}",
    ):
        html = manager.get(url).get_data(as_text=True)
        assert html.count('data-verified="no"') == 1, url
        assert unverified.number in html and other_ticket.number in html
    api = Api(client, world.manager)
    answer = api.get(f"/tickets/{unverified.number}").get_json()
    assert answer["enterprise"]["verified"] is False
    assert api.get(f"/tickets/{other_ticket.number}").get_json()["enterprise"]["verified"] is True


def test_the_mark_costs_no_query_per_row(client: FlaskClient, world: World) -> None:
    manager = client.application.test_client()
    login(manager, world.manager.username)

    def statements(url: str) -> int:
        seen: list[str] = []

        def remember(*args: Any) -> None:
            seen.append(args[2])

        engine = db.engine
        event.listen(engine, "before_cursor_execute", remember)
        try:
            assert manager.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        return len(seen)

    world.submit()
    db.session.commit()
    one = statements("/manage/tickets")
    for _ in range(5):
        enterprise = factories.enterprise(world.building)
        contact = factories.enterprise_user(enterprise)
        tickets.submit_ticket(
            contact,
            category=world.category.code,
            title="多行",
            description="说明",
            contact_phone="13800138000",
            now=utcnow(),
        )
    db.session.commit()
    assert statements("/manage/tickets") == one
