"""User administration and the ``flask users create`` command."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.auth.models import LoginSession, Role, User
from tests import factories
from tests.functional.html import field_errors, row
from tests.helpers import login, post_form


def english(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/lang/en").status_code == 302


def by_username(db, username: str) -> User | None:  # type: ignore[no-untyped-def]
    return db.session.scalars(select(User).where(User.username == username)).first()


def test_only_an_admin_reaches_the_user_list(app, world):
    for user, status in (
        (world.manager, 403),
        (world.contact, 403),
        (world.liaison, 403),
        (world.admin, 200),
    ):
        client = app.test_client()
        login(client, user.username)
        assert client.get("/admin/users").status_code == status, user.username
        assert client.get("/admin/users/new").status_code == status, user.username

    anonymous = app.test_client().get("/admin/users")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")


def test_the_user_list_filters_by_role(client, world):
    login(client, world.admin.username)
    everyone = client.get("/admin/users").get_data(as_text=True)
    assert world.liaison.username in everyone and world.contact.username in everyone
    liaisons = client.get("/admin/users", query_string={"role": "liaison"}).get_data(as_text=True)
    assert world.liaison.username in liaisons
    assert world.contact.username not in liaisons
    assert world.manager.username not in liaisons


def test_an_admin_creates_a_liaison(client, world, db):
    login(client, world.admin.username)
    response = post_form(
        client,
        "/admin/users/new",
        "/admin/users/new",
        {
            "username": "zhang.wei",
            "name": "张伟",
            "role": "liaison",
            "department": "",
            "phone": "13600136000",
            "email": "zhang.wei@example.gov.cn",
            "password": "welcome-2026-x",
            "confirm": "welcome-2026-x",
        },
    )
    assert response.status_code == 302
    user = by_username(db, "zhang.wei")
    assert user is not None and user.role == Role.LIAISON and user.department_id is None
    assert "zhang.wei" in client.get("/admin/users").get_data(as_text=True)
    newcomer = client.application.test_client()
    login(newcomer, "zhang.wei", "welcome-2026-x")


def test_an_admin_creates_department_staff(client, world, db):
    login(client, world.admin.username)
    data = {
        "username": "dept.zhao",
        "name": "赵科长",
        "role": "department",
        "department": world.department.code,
        "password": "welcome-2026-x",
        "confirm": "welcome-2026-x",
    }
    response = post_form(client, "/admin/users/new", "/admin/users/new", data)
    assert response.status_code == 302
    user = by_username(db, "dept.zhao")
    assert user is not None
    assert (user.role, user.department_id) == (Role.DEPARTMENT, world.department.id)


def test_department_staff_without_a_department_is_refused_next_to_the_field(client, world, db):
    english(client)
    login(client, world.admin.username)
    data = {
        "username": "dept.nobody",
        "name": "无部门",
        "role": "department",
        "department": "",
        "password": "welcome-2026-x",
        "confirm": "welcome-2026-x",
    }
    response = post_form(client, "/admin/users/new", "/admin/users/new", data)
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "department") == [
        "Department staff need a department."
    ]
    assert by_username(db, "dept.nobody") is None


def test_a_taken_username_and_a_short_password_are_shown_next_to_the_fields(client, world, db):
    english(client)
    login(client, world.admin.username)
    data = {
        "username": world.liaison.username,
        "name": "重名",
        "role": "manager",
        "password": "short",
        "confirm": "short",
    }
    response = post_form(client, "/admin/users/new", "/admin/users/new", data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "username") == ["This username is taken."]
    # The username is checked first; the password rule shows once the name is free.
    data["username"] = "fresh.name"
    html = post_form(client, "/admin/users/new", "/admin/users/new", data).get_data(as_text=True)
    assert field_errors(html, "password") == ["Use at least 10 characters."]
    assert by_username(db, "fresh.name") is None


def test_enterprise_contacts_cannot_be_created_here(client, world, db):
    login(client, world.admin.username)
    data = {
        "username": "sneaky",
        "name": "x",
        "role": "enterprise",
        "password": "welcome-2026-x",
        "confirm": "welcome-2026-x",
    }
    response = post_form(client, "/admin/users/new", "/admin/users/new", data)
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "role")
    assert by_username(db, "sneaky") is None


def test_deactivating_a_user_logs_them_out_at_once(app, client, world, db):
    victim = app.test_client()
    login(victim, world.liaison.username)
    assert victim.get("/account").status_code == 200

    login(client, world.admin.username)
    response = post_form(client, "/admin/users", f"/admin/users/{world.liaison.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert 'data-active="no"' in row(
        client.get("/admin/users").get_data(as_text=True), f"user-{world.liaison.id}"
    )

    assert victim.get("/account").status_code == 302
    assert (
        db.session.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.user_id == world.liaison.id)
        )
        == 0
    )
    again = post_form(
        app.test_client(),
        "/login",
        "/login",
        {"username": world.liaison.username, "password": factories.PASSWORD},
    )
    assert again.status_code == 200  # refused

    post_form(client, "/admin/users", f"/admin/users/{world.liaison.id}/active", {"active": "1"})
    login(app.test_client(), world.liaison.username)


def test_an_admin_cannot_deactivate_their_own_account(client, world, db):
    english(client)
    login(client, world.admin.username)
    response = post_form(client, "/admin/users", f"/admin/users/{world.admin.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert "You cannot deactivate your own account." in client.get("/admin/users").get_data(as_text=True)
    db.session.refresh(world.admin)
    assert world.admin.active is True


def test_a_manager_cannot_deactivate_anyone(client, world, db):
    login(client, world.manager.username)
    response = post_form(client, "/account", f"/admin/users/{world.liaison.id}/active", {"active": "0"})
    assert response.status_code == 403
    db.session.refresh(world.liaison)
    assert world.liaison.active is True


# --------------------------------------------------------------------------- the command line


def test_cli_creates_a_liaison(app, db):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--username",
            "li.na",
            "--name",
            "李娜",
            "--role",
            "liaison",
            "--password",
            "cli-password-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created li.na (liaison)" in result.output
    user = by_username(db, "li.na")
    assert user is not None and user.role == Role.LIAISON


def test_cli_refuses_a_bad_username(app, db):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--username",
            "no spaces!",
            "--name",
            "x",
            "--role",
            "liaison",
            "--password",
            "cli-password-1",
        ]
    )
    assert result.exit_code != 0
    assert "username:" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_cli_resets_a_password_and_ends_the_sessions(app, client, world, db):
    other = app.test_client()
    login(other, world.contact.username)
    assert other.get("/portal/").status_code == 200

    weak = app.test_cli_runner().invoke(
        args=["users", "reset-password", world.contact.username, "--password", "1"]
    )
    assert weak.exit_code != 0 and "password:" in weak.output
    unknown = app.test_cli_runner().invoke(args=["users", "reset-password", "nobody", "--password", "x" * 12])
    assert unknown.exit_code != 0

    result = app.test_cli_runner().invoke(
        args=["users", "reset-password", world.contact.username], input="brand-new-pass-9\nbrand-new-pass-9\n"
    )
    assert result.exit_code == 0, result.output
    assert other.get("/portal/").status_code == 302  # logged out
    login(client, world.contact.username, "brand-new-pass-9")
    assert client.get("/portal/").status_code == 200


def test_cli_deactivates_and_refuses_a_liaison_holding_work(app, world, db):
    ticket = world.in_progress()
    db.session.commit()
    refused = app.test_cli_runner().invoke(args=["users", "deactivate", world.liaison.username])
    assert refused.exit_code != 0 and world.liaison.name in refused.output and " 1 " in refused.output
    db.session.expire_all()
    assert world.liaison.active is True

    assert app.test_cli_runner().invoke(args=["users", "deactivate", "nobody"]).exit_code != 0
    result = app.test_cli_runner().invoke(args=["users", "deactivate", world.other_liaison.username])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert world.other_liaison.active is False and ticket.assignee_id == world.liaison.id
