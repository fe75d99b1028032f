"""Logging in and out, self-registration, languages and the account page, through the real forms."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.auth.models import LoginSession, Role, User
from hotline.enterprises.models import Enterprise
from tests import factories
from tests.functional.html import field_errors
from tests.helpers import csrf_token, login, post_form


def english(client) -> None:  # type: ignore[no-untyped-def]
    """Switch the browser to English, so that messages can be compared with their English text."""
    assert client.get("/lang/en").status_code == 302


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------------- logging in and out


def test_login_with_the_right_password_opens_a_session(client, world):
    login(client, world.liaison.username)
    page = client.get("/account")
    assert page.status_code == 200
    assert world.liaison.username in page.get_data(as_text=True)


def test_a_wrong_password_is_shown_next_to_the_password_field(client, world, db):
    english(client)
    response = post_form(
        client, "/login", "/login", {"username": world.liaison.username, "password": "wrong-pass-123"}
    )
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "password") == ["Wrong username or password."]
    assert count(db, LoginSession) == 0
    assert client.get("/account").status_code == 302


def test_an_unknown_user_gets_the_same_answer(client, world):
    english(client)
    response = post_form(
        client, "/login", "/login", {"username": "nobody-here", "password": factories.PASSWORD}
    )
    assert field_errors(response.get_data(as_text=True), "password") == ["Wrong username or password."]


def test_the_session_cookie_is_httponly_and_samesite_lax(client, world):
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": world.contact.username,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    attributes = [part.strip().lower() for part in cookies[-1].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_logout_invalidates_even_a_copied_cookie(app, client, world):
    login(client, world.liaison.username)
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/account").status_code == 200  # the copy works while the session is open

    page = client.get("/account")
    response = client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302

    stale = thief.get("/account")
    assert stale.status_code == 302
    assert stale.headers["Location"].startswith("/login")


def test_a_post_without_csrf_token_is_refused(client, world, db):
    response = client.post(
        "/login", data={"username": world.liaison.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert count(db, LoginSession) == 0


def test_an_outside_next_address_is_ignored_after_login(client, world):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        client.cookie_jar.clear() if hasattr(client, "cookie_jar") and client.cookie_jar else None
        page = client.get("/login")
        response = client.post(
            "/login",
            query_string={"next": target},
            data={
                "username": world.liaison.username,
                "password": factories.PASSWORD,
                "csrf_token": csrf_token(page.get_data(as_text=True)),
            },
        )
        assert response.status_code == 302
        assert "evil.example" not in response.headers["Location"]
        logout_page = client.get("/account")
        client.post("/logout", data={"csrf_token": csrf_token(logout_page.get_data(as_text=True))})


def test_a_local_next_address_is_followed_after_login(client, world):
    page = client.get("/login")
    response = client.post(
        "/login",
        query_string={"next": "/account"},
        data={
            "username": world.liaison.username,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.headers["Location"] == "/account"


def test_a_deactivated_user_cannot_log_in(client, world, db):
    world.liaison.active = False
    db.session.commit()
    response = post_form(
        client, "/login", "/login", {"username": world.liaison.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "password")


# --------------------------------------------------------------------------- self-registration


def registration(world, **changes: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "uscc": factories.make_uscc(),
        "name": "星河数据科技有限公司",
        "building": world.building.id,
        "room": "12F-1203",
        "contact_name": "王经理",
        "phone": "13900139000",
        "email": "wang@example.com",
        "username": "xinghe",
        "password": "a-long-password-1",
        "confirm": "a-long-password-1",
    }
    data.update(changes)
    return data


def test_self_registration_creates_an_unverified_enterprise_and_logs_in(client, world, db):
    data = registration(world)
    response = post_form(client, "/register", "/register", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    enterprise = db.session.scalars(select(Enterprise).where(Enterprise.uscc == data["uscc"])).one()
    assert enterprise.name == "星河数据科技有限公司"
    assert enterprise.building_id == world.building.id
    assert enterprise.verified_at is None
    contact = db.session.scalars(select(User).where(User.username == "xinghe")).one()
    assert contact.role == Role.ENTERPRISE and contact.enterprise_id == enterprise.id
    account = client.get("/account")
    assert account.status_code == 200
    assert "xinghe" in account.get_data(as_text=True)


def test_a_wrong_uscc_is_shown_next_to_the_field_and_nothing_is_saved(client, world, db):
    english(client)
    enterprises, users = count(db, Enterprise), count(db, User)
    good = factories.make_uscc()
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = post_form(client, "/register", "/register", registration(world, uscc=typo))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "uscc") == [
        "The check character is wrong: please look for a mistyped character in the code."
    ]
    assert field_errors(html, "name") == []
    assert (count(db, Enterprise), count(db, User)) == (enterprises, users)
    assert client.get("/account").status_code == 302  # not logged in


def test_a_taken_username_is_refused(client, world, db):
    english(client)
    enterprises = count(db, Enterprise)
    response = post_form(
        client, "/register", "/register", registration(world, username=world.contact.username)
    )
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "username") == ["This username is taken."]
    assert count(db, Enterprise) == enterprises


# --------------------------------------------------------------------------- languages and error pages


def test_pages_are_chinese_by_default_and_english_on_request(client, world):
    login(client, world.liaison.username)
    chinese = client.get("/account").get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese

    switched = client.get("/lang/en", query_string={"next": "/account"})
    assert switched.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log out" in page
    assert "My account" in page


def test_the_language_switch_does_not_redirect_elsewhere(client):
    response = client.get("/lang/en", query_string={"next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_the_404_page_uses_the_site_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'class="site-header"' in html
    assert 'class="error-code">404<' in html
    assert "site-footer" in html


# --------------------------------------------------------------------------- the account page


def test_a_user_changes_the_password_and_other_browsers_are_logged_out(app, client, world, db):
    english(client)
    login(client, world.department_user.username)
    other = app.test_client()
    login(other, world.department_user.username)

    response = post_form(
        client,
        "/account",
        "/account",
        {
            "current_password": factories.PASSWORD,
            "new_password": "brand-new-secret",
            "confirm": "brand-new-secret",
        },
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this browser stays in
    assert other.get("/account").status_code == 302  # the other one is out

    fresh = app.test_client()
    login(fresh, world.department_user.username, "brand-new-secret")


def test_a_wrong_current_password_or_a_short_new_one_is_shown_next_to_the_fields(client, world):
    english(client)
    login(client, world.contact.username)
    response = post_form(
        client,
        "/account",
        "/account",
        {"current_password": "not-my-password", "new_password": "short", "confirm": "short"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_errors(html, "current_password") == ["The current password is wrong."]
    assert field_errors(html, "new_password") == ["Use at least 10 characters."]


def test_a_liaison_goes_on_leave_and_comes_back(client, world, db):
    login(client, world.liaison.username)
    assert 'data-available="yes"' in client.get("/account").get_data(as_text=True)

    response = post_form(client, "/account", "/account/availability", {"available": "0"})
    assert response.status_code == 302
    db.session.refresh(world.liaison)
    assert world.liaison.available is False
    assert 'data-available="no"' in client.get("/account").get_data(as_text=True)

    post_form(client, "/account", "/account/availability", {"available": "1"})
    db.session.refresh(world.liaison)
    assert world.liaison.available is True


def test_only_liaisons_have_the_leave_button(client, world):
    login(client, world.manager.username)
    assert "data-available" not in client.get("/account").get_data(as_text=True)
    response = post_form(client, "/account", "/account/availability", {"available": "0"})
    assert response.status_code == 403


def test_the_language_chosen_in_the_header_is_saved_on_the_account(client, world, db):
    """A POST from the header's switch (with the CSRF token) saves the language of a logged-in user, so
    that e-mails reach them in it; without the token nothing is saved; a plain link changes the browser's
    language only."""
    from hotline.notifications.email import recipient_locale

    login(client, world.liaison.username)
    assert client.post("/lang/en", data={"next": "/account"}).status_code == 400  # no CSRF token
    db.session.expire_all()
    assert world.liaison.locale != "en"

    client.get("/lang/en")
    db.session.expire_all()
    assert world.liaison.locale != "en"

    response = post_form(client, "/account", "/lang/en?next=/account", {})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    db.session.expire_all()
    assert world.liaison.locale == "en"
    assert recipient_locale(world.liaison) == "en"
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="en">' in page
