"""Accounts for administrators, through the API and the edit page."""

from __future__ import annotations

from sqlalchemy import select

from hotline.auth.models import Role, User
from hotline.auth.services import issue_token
from hotline.db import utcnow
from tests import factories
from tests.functional.html import field_errors
from tests.helpers import login, post_form

EN = {"Accept-Language": "en"}


def bearer(user: User, db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token, _row = issue_token(user, utcnow(), hours=1)
    db.session.commit()
    return {"Authorization": f"Bearer {token}", **EN}


def test_admins_list_accounts_by_role_term_and_state(client, db, world):
    world.other_liaison.active = False
    db.session.commit()
    headers = bearer(world.admin, db)
    everyone = client.get("/api/v1/users", headers=headers).get_json()
    assert set(everyone) >= {"items", "page", "pages", "total"}
    assert everyone["total"] == db.session.query(User).count()
    liaisons = client.get("/api/v1/users?role=liaison&active=true", headers=headers).get_json()
    assert [u["username"] for u in liaisons["items"]] == [world.liaison.username]
    assert liaisons["items"][0]["active"] is True
    named = client.get("/api/v1/users", query_string={"q": world.manager.name}, headers=headers).get_json()
    assert [u["username"] for u in named["items"]] == [world.manager.username]
    paged = client.get("/api/v1/users?per_page=2&page=2", headers=headers).get_json()
    assert paged["page"] == 2 and len(paged["items"]) == 2


def test_the_list_refuses_bad_queries_and_non_admins(client, db, world):
    headers = bearer(world.admin, db)
    for query in ("role=boss", "page=0", f"page={2**70}", "active=maybe", "q=a%00b", "q=" + "x" * 200):
        answer = client.get(f"/api/v1/users?{query}", headers=headers)
        assert answer.status_code == 400, query
        assert answer.get_json()["error"]["fields"], query
    for user in (world.manager, world.liaison, world.contact):
        assert client.get("/api/v1/users", headers=bearer(user, db)).status_code == 403
    assert client.get("/api/v1/users").status_code == 401


def test_an_admin_creates_a_department_account(client, db, world):
    body = {
        "username": "wang.fang",
        "name": "王芳",
        "role": "department",
        "password": "Lantern-Orchard-58",
        "phone": "13900139000",
        "email": "wang.fang@example.gov.cn",
        "department": world.department.code,
    }
    created = client.post("/api/v1/users", json=body, headers=bearer(world.admin, db))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["department"] == world.department.code
    login(client, "wang.fang", "Lantern-Orchard-58")


def test_creating_refuses_every_problem_at_once(client, db, world):
    headers = bearer(world.admin, db)
    missing = client.post(
        "/api/v1/users",
        json={"username": "x", "name": "", "role": "department", "password": "short", "email": "nope"},
        headers=headers,
    )
    assert missing.status_code == 400
    assert set(missing.get_json()["error"]["fields"]) >= {
        "username",
        "name",
        "password",
        "email",
        "department",
    }
    enterprise = client.post(
        "/api/v1/users",
        json={
            "username": "new.contact",
            "name": "张",
            "role": "enterprise",
            "password": "Lantern-Orchard-58",
        },
        headers=headers,
    )
    assert enterprise.status_code == 400 and "role" in enterprise.get_json()["error"]["fields"]
    for hostile in ({"username": {"a": {"b": 1}}}, {"username": "a\x00b"}, {"name": ["x"]}, []):
        answer = client.post("/api/v1/users", json=hostile, headers=headers)
        assert answer.status_code == 400, hostile
    valid = {"username": "by.manager", "name": "某", "role": "admin", "password": "Lantern-Orchard-58"}
    assert client.post("/api/v1/users", json=valid, headers=bearer(world.manager, db)).status_code == 403
    assert db.session.scalars(select(User).where(User.username == "by.manager")).first() is None


def test_an_admin_changes_an_account_and_a_refused_role_change_says_why(client, db, world):
    headers = bearer(world.admin, db)
    world.in_progress()
    db.session.commit()
    held = client.patch(f"/api/v1/users/{world.liaison.username}", json={"role": "manager"}, headers=headers)
    assert held.status_code == 400
    assert "open requests" in held.get_json()["error"]["fields"]["role"]
    liaison_headers = bearer(world.manager, db)
    changed = client.patch(
        f"/api/v1/users/{world.manager.username}",
        json={"name": "李主任", "role": "admin", "email": ""},
        headers=headers,
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["role"] == "admin" and changed.get_json()["name"] == "李主任"
    assert client.get("/api/v1/me", headers=liaison_headers).status_code == 401  # its token ended
    self_demotion = client.patch(
        f"/api/v1/users/{world.admin.username}", json={"role": "manager"}, headers=headers
    )
    assert self_demotion.status_code == 400 and "role" in self_demotion.get_json()["error"]["fields"]


def test_changing_refuses_bad_bodies_unknown_users_and_non_admins(client, db, world):
    headers = bearer(world.admin, db)
    url = f"/api/v1/users/{world.manager.username}"
    for body in ({"active": "no"}, {"active": 0}, {"role": "boss"}, {"name": "a\x00"}, {"phone": 123}):
        answer = client.patch(url, json=body, headers=headers)
        assert answer.status_code == 400, body
    assert client.patch(url, json={"phone": "call me"}, headers=headers).get_json()["error"]["fields"] == {
        "phone": "Enter a phone number of 7 to 20 digits (a leading + and dashes allowed)."
    }
    assert client.patch("/api/v1/users/nobody", json={}, headers=headers).status_code == 404
    assert client.patch("/api/v1/users/a%00b", json={}, headers=headers).status_code == 404
    assert client.patch(url, json={"name": "x"}, headers=bearer(world.manager, db)).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, world.manager.id).role == Role.MANAGER


# --------------------------------------------------------------------------- the edit page


def edit(client, user: User, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "name": user.name,
        "role": user.role.value,
        "department": user.department.code if user.department else "",
        "phone": user.phone,
        "email": user.email,
        "active": "1" if user.active else "0",
    }
    data.update(fields)
    page = f"/admin/users/{user.id}/edit"
    return post_form(client, page, page, data)


def test_the_edit_page_changes_an_account(client, db, world):
    login(client, world.admin.username)
    page = client.get(f"/admin/users/{world.manager.id}/edit").get_data(as_text=True)
    assert world.manager.name in page
    saved = edit(client, world.manager, name="新名字", phone="13900139000")
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.manager.id).name == "新名字"


def test_the_edit_page_shows_refusals_next_to_the_fields(client, db, world):
    world.in_progress()
    db.session.commit()
    login(client, world.admin.username)
    refused = edit(client, world.liaison, role="manager", phone="call me", email="nope")
    assert refused.status_code == 200
    html = refused.get_data(as_text=True)
    for field in ("role", "phone", "email"):
        assert field_errors(html, field), field
    db.session.expire_all()
    assert db.session.get(User, world.liaison.id).role == Role.LIAISON
    department = edit(client, world.manager, role="department", department="")
    assert field_errors(department.get_data(as_text=True), "department")


def test_the_edit_page_refuses_what_it_does_not_offer(client, db, world):
    login(client, world.admin.username)
    contact = edit(client, world.contact, role="manager")  # a contact is offered only its own role
    assert contact.status_code == 200 and field_errors(contact.get_data(as_text=True), "role")
    assert client.get(f"/admin/users/{2**70}/edit").status_code == 404
    assert client.get("/admin/users/999999/edit").status_code == 404
    other = factories.user(Role.MANAGER)
    db.session.commit()
    assert edit(client, other, active="2").status_code == 200
