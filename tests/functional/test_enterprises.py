"""The enterprise pages: who sees which enterprises, verification, onboarding."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.auth.models import Role, User
from hotline.enterprises.models import Enterprise
from tests import factories
from tests.functional.html import field_errors, row
from tests.helpers import login, post_form


def english(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/lang/en").status_code == 302


def test_a_liaison_sees_only_the_enterprises_of_its_buildings(client, world):
    login(client, world.liaison.username)
    html = client.get("/enterprises/").get_data(as_text=True)
    assert world.enterprise.name in html
    assert world.enterprise.uscc in html
    assert world.building.name in html
    assert world.other_enterprise.name not in html
    assert ">1<" in row(html, f"enterprise-{world.enterprise.id}")  # one contact person

    assert client.get(f"/enterprises/{world.enterprise.id}").status_code == 200
    assert client.get(f"/enterprises/{world.other_enterprise.id}").status_code == 404


def test_a_manager_sees_every_enterprise(client, world):
    login(client, world.manager.username)
    html = client.get("/enterprises/").get_data(as_text=True)
    assert world.enterprise.name in html
    assert world.other_enterprise.name in html


def test_enterprise_contacts_and_department_staff_may_not_open_the_list(client, world):
    login(client, world.contact.username)
    assert client.get("/enterprises/").status_code == 403
    other = client.application.test_client()
    login(other, world.department_user.username)
    assert other.get("/enterprises/").status_code == 403


def test_the_unverified_filter(client, world, db):
    verified = factories.enterprise(world.building, name="已核验企业")
    verified.verified_at = verified.created_at
    db.session.commit()
    login(client, world.liaison.username)
    everything = client.get("/enterprises/").get_data(as_text=True)
    assert "已核验企业" in everything
    unverified = client.get("/enterprises/", query_string={"unverified": "y"}).get_data(as_text=True)
    assert "已核验企业" not in unverified
    assert world.enterprise.name in unverified


def test_the_list_is_paginated(client, world, app, db):
    for i in range(app.config["PER_PAGE"] + 3):
        factories.enterprise(world.building, name=f"分页企业{i:02d}")
    db.session.commit()
    login(client, world.liaison.username)
    first = client.get("/enterprises/").get_data(as_text=True)
    second = client.get("/enterprises/", query_string={"page": 2}).get_data(as_text=True)
    assert first.count('<tr id="enterprise-') == app.config["PER_PAGE"]
    assert second.count('<tr id="enterprise-') == 4
    assert "page=2" in first


def test_a_liaison_verifies_an_enterprise_of_its_building(client, world, db):
    english(client)
    login(client, world.liaison.username)
    before = row(client.get("/enterprises/").get_data(as_text=True), f"enterprise-{world.enterprise.id}")
    assert 'data-verified="no"' in before

    response = post_form(client, "/enterprises/", f"/enterprises/{world.enterprise.id}/verify", {})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{world.enterprise.name} is verified." in page
    after = row(client.get("/enterprises/").get_data(as_text=True), f"enterprise-{world.enterprise.id}")
    assert 'data-verified="yes"' in after
    db.session.refresh(world.enterprise)
    assert world.enterprise.verified_by_id == world.liaison.id


def test_verifying_twice_is_refused_with_the_reason(client, world):
    english(client)
    login(client, world.liaison.username)
    detail = f"/enterprises/{world.enterprise.id}"
    post_form(client, detail, f"{detail}/verify", {})
    response = post_form(client, "/enterprises/", f"{detail}/verify", {})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This enterprise is already verified." in page


def test_a_liaison_cannot_verify_an_enterprise_outside_its_buildings(client, world, db):
    login(client, world.liaison.username)
    response = post_form(client, "/enterprises/", f"/enterprises/{world.other_enterprise.id}/verify", {})
    assert response.status_code == 404
    db.session.refresh(world.other_enterprise)
    assert world.other_enterprise.verified_at is None


def test_a_manager_verifies_any_enterprise(client, world, db):
    login(client, world.manager.username)
    response = post_form(client, "/enterprises/", f"/enterprises/{world.other_enterprise.id}/verify", {})
    assert response.status_code == 302
    db.session.refresh(world.other_enterprise)
    assert world.other_enterprise.verified_at is not None
    assert world.other_enterprise.verified_by_id == world.manager.id


def test_verify_needs_the_csrf_token(client, world, db):
    login(client, world.liaison.username)
    assert client.post(f"/enterprises/{world.enterprise.id}/verify").status_code == 400
    db.session.refresh(world.enterprise)
    assert world.enterprise.verified_at is None


def test_the_detail_page_shows_building_room_and_contacts(client, world):
    login(client, world.liaison.username)
    html = client.get(f"/enterprises/{world.enterprise.id}").get_data(as_text=True)
    assert world.building.name in html
    assert world.contact.username in html
    assert world.contact.name in html


# --------------------------------------------------------------------------- onboarding


def onboarding(building_id: int, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "uscc": factories.make_uscc(),
        "name": "云帆物流有限公司",
        "building": building_id,
        "room": "5F",
        "contact_name": "李女士",
        "phone": "13700137000",
        "email": "",
        "username": "yunfan",
        "password": "initial-pass-1",
        "confirm": "initial-pass-1",
    }
    data.update(changes)
    return data


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_liaison_onboards_an_enterprise_with_its_first_contact(app, client, world, db):
    login(client, world.liaison.username)
    data = onboarding(world.building.id)
    response = post_form(client, "/enterprises/new", "/enterprises/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    enterprise = db.session.scalars(select(Enterprise).where(Enterprise.uscc == data["uscc"])).one()
    assert response.headers["Location"] == f"/enterprises/{enterprise.id}"
    assert enterprise.verified_by_id == world.liaison.id
    contact = db.session.scalars(select(User).where(User.username == "yunfan")).one()
    assert (contact.role, contact.enterprise_id) == (Role.ENTERPRISE, enterprise.id)
    assert "yunfan" in client.get(response.headers["Location"]).get_data(as_text=True)

    newcomer = app.test_client()
    login(newcomer, "yunfan", "initial-pass-1")


def test_onboarding_with_a_bad_uscc_shows_the_error_next_to_the_field(client, world, db):
    english(client)
    login(client, world.liaison.username)
    enterprises, users = count(db, Enterprise), count(db, User)
    response = post_form(
        client, "/enterprises/new", "/enterprises/new", onboarding(world.building.id, uscc="91110105ABC")
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "uscc") == ["A unified social credit code has 18 characters; this one has 11."]
    assert (count(db, Enterprise), count(db, User)) == (enterprises, users)


def test_a_liaison_only_offers_and_accepts_its_own_buildings(client, world, db):
    login(client, world.liaison.username)
    page = client.get("/enterprises/new").get_data(as_text=True)
    assert world.building.name in page
    assert world.other_enterprise.building.name not in page
    enterprises = count(db, Enterprise)
    response = post_form(
        client, "/enterprises/new", "/enterprises/new", onboarding(world.other_enterprise.building_id)
    )
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "building")
    assert count(db, Enterprise) == enterprises


def test_a_manager_onboards_into_any_building(client, world, db):
    login(client, world.manager.username)
    data = onboarding(world.other_enterprise.building_id, username="managed-one")
    response = post_form(client, "/enterprises/new", "/enterprises/new", data)
    assert response.status_code == 302
    assert db.session.scalars(select(Enterprise).where(Enterprise.uscc == data["uscc"])).one()
