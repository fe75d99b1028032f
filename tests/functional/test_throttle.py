"""Throttled failures (hotline/throttle.py): logins on the page and the API, registrations, password changes.

Each test starts and ends with the limiter's counts reset.  The limits come from the configuration, so the
tests follow it; each makes at most a few dozen attempts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse
from werkzeug.test import TestResponse

from hotline.extensions import limiter
from tests import factories
from tests.factories import World
from tests.functional.html import field_errors
from tests.helpers import csrf_token, login, post_form

API = "/api/v1"
WRONG = "wrong-pass-123"
HERE, ELSEWHERE, THIRD = "198.51.100.7", "203.0.113.20", "192.0.2.33"


@pytest.fixture(autouse=True)
def fresh_counts(app: Flask) -> Iterator[None]:
    assert limiter.initialized and limiter.enabled, "throttle.init_app(app) is missing from create_app"
    limiter.reset()
    yield
    limiter.reset()


def allowed(app: Flask, setting: str) -> int:
    """How many failures the limit named by ``setting`` lets through."""
    return parse(app.config[setting]).amount


def browser(app: Flask, address: str) -> FlaskClient:
    """A test client coming from ``address``, its pages in English."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert client.get("/lang/en").status_code == 302
    return client


def try_login(client: FlaskClient, username: str, password: str) -> TestResponse:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def request_token(client: FlaskClient, username: str, password: str) -> TestResponse:
    return client.post(f"{API}/tokens", json={"username": username, "password": password})


def fail_logins(client: FlaskClient, username: str, times: int) -> None:
    for _ in range(times):
        response = try_login(client, username, WRONG)
        assert response.status_code == 200
        assert field_errors(response.get_data(as_text=True), "password") == ["Wrong username or password."]


def assert_too_many_page(response: TestResponse, minutes: int = 15) -> None:
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= minutes * 60
    html = response.get_data(as_text=True)
    assert 'class="error-code">429<' in html
    assert f"Too many failed attempts; try again in {minutes} minutes." in html


def assert_too_many_json(response: TestResponse, minutes: int = 15) -> dict[str, Any]:
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= minutes * 60
    error: dict[str, Any] = response.get_json()["error"]
    assert error == {
        "code": "too_many_requests",
        "message": f"Too many failed attempts; try again in {minutes} minutes.",
        "fields": {},
    }
    return error


def logged_in(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


# --------------------------------------------------------------------------- the login page
def _log_out(client: FlaskClient) -> None:
    token = csrf_token(client.get("/account").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_the_owners_own_browser_is_never_locked_out_by_someone_elses_failures(
    app: Flask, world: World
) -> None:
    """A browser that logged in to the account before carries a device cookie: its count is its own, so a
    guesser elsewhere locks out only browsers the account never used (OWASP's device cookies)."""
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    owner = browser(app, ELSEWHERE)
    assert try_login(owner, world.liaison.username, factories.PASSWORD).status_code == 302
    assert owner.get_cookie("hotline_device") is not None
    _log_out(owner)

    fail_logins(browser(app, HERE), world.liaison.username, per_account)
    assert_too_many_page(try_login(browser(app, THIRD), world.liaison.username, factories.PASSWORD))
    assert try_login(owner, world.liaison.username, factories.PASSWORD).status_code == 302  # still gets in
    assert logged_in(owner)
    _log_out(owner)

    # its own wrong passwords still count, for it: the device cookie is no way around the limit
    fail_logins(owner, world.liaison.username, per_account)
    assert_too_many_page(try_login(owner, world.liaison.username, factories.PASSWORD))


def test_a_forged_or_foreign_device_cookie_counts_as_none(app: Flask, world: World) -> None:
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    fail_logins(browser(app, HERE), world.liaison.username, per_account)
    forger = browser(app, THIRD)
    forger.set_cookie("hotline_device", "eyJkIjoieCIsImEiOlsibGlhaXNvbiJdfQ.forged")
    assert_too_many_page(try_login(forger, world.liaison.username, factories.PASSWORD))
    # a cookie another account earned on this browser does not vouch for this one
    colleague = browser(app, THIRD)
    assert try_login(colleague, world.contact.username, factories.PASSWORD).status_code == 302
    _log_out(colleague)
    assert_too_many_page(try_login(colleague, world.liaison.username, factories.PASSWORD))


def test_a_known_browser_is_not_held_up_by_its_office_addresss_failures(app: Flask, world: World) -> None:
    """People behind one office address share it: one person's failures there do not lock out a colleague
    on the computer they always use."""
    per_address = allowed(app, "THROTTLE_LOGIN_PER_ADDRESS")
    colleague = browser(app, HERE)
    assert try_login(colleague, world.contact.username, factories.PASSWORD).status_code == 302
    _log_out(colleague)
    someone = browser(app, HERE)
    for i in range(per_address):
        assert try_login(someone, f"nobody{i}", WRONG).status_code == 200
    assert_too_many_page(try_login(browser(app, HERE), world.manager.username, factories.PASSWORD))
    assert try_login(colleague, world.contact.username, factories.PASSWORD).status_code == 302


def test_an_account_is_refused_after_its_failures_even_with_the_right_password(
    app: Flask, world: World
) -> None:
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    guesser = browser(app, HERE)
    fail_logins(guesser, world.liaison.username, per_account)

    # the next attempt is refused, from any address and with the right password: guessing one account
    # from many addresses gets no further
    owner = browser(app, ELSEWHERE)
    assert_too_many_page(try_login(owner, world.liaison.username, factories.PASSWORD))
    assert_too_many_page(try_login(owner, world.liaison.username.upper(), factories.PASSWORD))
    assert not logged_in(owner)
    assert owner.get("/login").status_code == 200  # the page itself still shows

    # someone else, from elsewhere, is not held up
    other = browser(app, THIRD)
    assert try_login(other, world.contact.username, factories.PASSWORD).status_code == 302


def test_another_account_from_the_same_address_logs_in_until_the_address_limit(
    app: Flask, world: World
) -> None:
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    per_address = allowed(app, "THROTTLE_LOGIN_PER_ADDRESS")
    assert per_address > per_account  # people of one office share its address
    client = browser(app, HERE)
    fail_logins(client, world.liaison.username, per_account)
    assert_too_many_page(try_login(client, world.liaison.username, factories.PASSWORD))

    assert try_login(client, world.contact.username, factories.PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account").get_data(as_text=True))})

    # spread over accounts, the failures from one address reach its limit
    failed = per_account
    for username in (f"nobody-{i}" for i in range(per_address)):
        if failed == per_address:
            break
        fail_logins(client, username, min(per_account, per_address - failed))
        failed += min(per_account, per_address - failed)
    assert_too_many_page(try_login(client, world.manager.username, factories.PASSWORD))

    # the same account from another address is let in
    assert try_login(browser(app, ELSEWHERE), world.manager.username, factories.PASSWORD).status_code == 302


def test_successful_logins_are_not_counted(app: Flask, world: World) -> None:
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    for _ in range(per_account + 5):
        login(browser(app, HERE), world.contact.username)
    client = browser(app, HERE)
    fail_logins(client, world.contact.username, per_account)  # the successes used up none of these
    assert_too_many_page(try_login(client, world.contact.username, factories.PASSWORD))


def test_counts_are_reset_and_throttling_can_be_turned_off(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    client = browser(app, HERE)
    fail_logins(client, world.contact.username, per_account)
    assert try_login(client, world.contact.username, factories.PASSWORD).status_code == 429

    monkeypatch.setattr(limiter, "enabled", False)
    fail_logins(client, world.contact.username, 2)  # neither refused nor counted
    monkeypatch.setattr(limiter, "enabled", True)
    assert try_login(client, world.contact.username, factories.PASSWORD).status_code == 429

    limiter.reset()
    assert try_login(client, world.contact.username, factories.PASSWORD).status_code == 302


def test_the_limits_are_settings(app: Flask, world: World) -> None:
    app.config["THROTTLE_LOGIN_PER_ACCOUNT"] = "2 per 5 minutes"
    client = browser(app, HERE)
    fail_logins(client, world.contact.username, 2)
    assert_too_many_page(try_login(client, world.contact.username, factories.PASSWORD), minutes=5)


# --------------------------------------------------------------------------- the API's token request


def test_the_api_answers_429_in_its_error_shape_after_the_failures(app: Flask, world: World) -> None:
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    client = browser(app, HERE)
    for _ in range(per_account):
        assert request_token(client, world.contact.username, WRONG).status_code == 401
    assert_too_many_json(request_token(client, world.contact.username, factories.PASSWORD))
    assert_too_many_json(request_token(browser(app, ELSEWHERE), world.contact.username, factories.PASSWORD))

    # another account from the same address still gets its token
    created = request_token(client, world.liaison.username, factories.PASSWORD)
    assert created.status_code == 201 and created.get_json()["token"]


def test_the_page_and_the_api_share_the_count_and_successes_do_not_count(app: Flask, world: World) -> None:
    per_account = allowed(app, "THROTTLE_LOGIN_PER_ACCOUNT")
    client = browser(app, HERE)
    for _ in range(per_account + 2):
        assert request_token(client, world.contact.username, factories.PASSWORD).status_code == 201
    half = per_account // 2
    fail_logins(client, world.contact.username, half)
    for _ in range(per_account - half):
        assert request_token(client, world.contact.username, WRONG).status_code == 401
    assert_too_many_json(request_token(client, world.contact.username, factories.PASSWORD))
    assert_too_many_page(try_login(client, world.contact.username, factories.PASSWORD))


def test_the_token_request_documents_its_429(client: FlaskClient) -> None:
    document = client.get(f"{API}/openapi.json").get_json()
    assert "429" in document["paths"]["/api/v1/tokens"]["post"]["responses"]


# --------------------------------------------------------------------------- registration


def registration(world: World, username: str) -> dict[str, object]:
    return {
        "uscc": factories.make_uscc(),
        "name": "星河数据科技有限公司",
        "building": world.building.id,
        "room": "12F-1203",
        "contact_name": "王经理",
        "phone": "13900139000",
        "email": "wang@example.com",
        "username": username,
        "password": "a-long-password-1",
        "confirm": "a-long-password-1",
    }


def test_refused_registrations_are_limited_per_address(app: Flask, world: World) -> None:
    per_address = allowed(app, "THROTTLE_REGISTER_PER_ADDRESS")
    client = browser(app, HERE)
    for _ in range(per_address):  # probing for taken usernames
        response = post_form(client, "/register", "/register", registration(world, world.contact.username))
        assert response.status_code == 200
        assert field_errors(response.get_data(as_text=True), "username") == ["This username is taken."]
    assert_too_many_page(post_form(client, "/register", "/register", registration(world, "xinghe")))

    elsewhere = browser(app, ELSEWHERE)
    assert post_form(elsewhere, "/register", "/register", registration(world, "xinghe")).status_code == 302


def test_successful_registrations_are_not_counted(app: Flask, world: World) -> None:
    per_address = allowed(app, "THROTTLE_REGISTER_PER_ADDRESS")
    client = browser(app, HERE)
    for i in range(per_address + 1):
        response = post_form(client, "/register", "/register", registration(world, f"xinghe{i}"))
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/account").get_data(as_text=True))})


# --------------------------------------------------------------------------- changing the password


def change(client: FlaskClient, current: str, new: str = "brand-new-secret") -> TestResponse:
    return post_form(
        client, "/account", "/account", {"current_password": current, "new_password": new, "confirm": new}
    )


def test_wrong_current_passwords_are_limited_per_account(app: Flask, world: World) -> None:
    per_account = allowed(app, "THROTTLE_PASSWORD_CHANGE_PER_ACCOUNT")
    client = browser(app, HERE)
    login(client, world.contact.username)
    assert field_errors(
        change(client, factories.PASSWORD, "short").get_data(as_text=True), "new_password"
    ) == [
        "Use at least 10 characters."
    ]  # a refused new password with the right current one is no guess: not counted
    for _ in range(per_account):
        html = change(client, "not-my-password").get_data(as_text=True)
        assert field_errors(html, "current_password") == ["The current password is wrong."]
    assert_too_many_page(change(client, factories.PASSWORD))
    assert client.get("/account").status_code == 200  # the page itself still shows

    # another account, from the same address, changes its password
    other = browser(app, HERE)
    login(other, world.liaison.username)
    assert change(other, factories.PASSWORD).status_code == 302
