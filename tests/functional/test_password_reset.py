"""Password reset links: asked for on the login page (sent by e-mail through the outbox), issued by an
administrator (page and API), used once, expiring after 30 minutes."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
import time_machine
from sqlalchemy import func, select

from hotline.auth import resets
from hotline.auth.models import ApiToken, LoginSession, PasswordReset, Role, User
from hotline.auth.services import issue_token, verify_password
from hotline.db import utcnow
from hotline.outbox.models import OutboxMessage
from tests.functional.html import field_errors
from tests.helpers import login, post_form

NEW_PASSWORD = "Lantern-Orchard-58"
EN = {"Accept-Language": "en"}


@pytest.fixture
def outbox_mail(app, monkeypatch):  # type: ignore[no-untyped-def]
    """What the worker would send: the reset messages of the outbox, delivered to a list."""
    sent: list[EmailMessage] = []
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.test")
    monkeypatch.setattr("hotline.notifications.email._deliver", sent.append)
    return sent


def reset_messages(db) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    query = select(OutboxMessage).where(OutboxMessage.topic == resets.SEND_PASSWORD_RESET)
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def run_worker(db) -> None:  # type: ignore[no-untyped-def]
    """Do what the worker does for every pending reset message (the task's service, one transaction)."""
    for message in reset_messages(db):
        resets.send_password_reset_email(message.payload["reset_id"], message.payload["seed"], utcnow())
    db.session.commit()


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(r"https?://\S+/password-reset/[A-Za-z0-9_-]+", body.get_content())
    assert match, body.get_content()
    return match.group(0)


def path_of(link: str) -> str:
    return "/password-reset/" + link.rsplit("/", 1)[1]


def ask(client, account: str):  # type: ignore[no-untyped-def]
    return post_form(client, "/password-reset", "/password-reset", {"account": account})


def set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):  # type: ignore[no-untyped-def]
    """Post the new password to a reset link (the CSRF token from the "forgot" page: the link may fail)."""
    return post_form(client, "/password-reset", path, {"password": password, "confirm": confirm or password})


def with_email(db, user: User, address: str) -> User:  # type: ignore[no-untyped-def]
    user.email = address
    db.session.commit()
    return user


# --------------------------------------------------------------------------- self-service


def test_the_login_page_links_to_the_forgotten_password_page(client):
    login_page = client.get("/login").get_data(as_text=True)
    assert 'href="/password-reset"' in login_page
    assert client.get("/password-reset").status_code == 200


def test_a_link_by_email_sets_a_new_password_once(app, client, db, world, outbox_mail):
    contact = with_email(db, world.contact, "li.na@example.com")
    contact.locale = "en"
    db.session.commit()
    other_browser = app.test_client()
    login(other_browser, contact.username)
    issue_token(contact, utcnow(), hours=1)
    db.session.commit()

    answer = ask(client, contact.username)
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    [message] = reset_messages(db)
    assert "seed" in message.payload and "token" not in message.payload  # no usable link in the database
    assert outbox_mail == []  # nothing is sent in the web request: the worker sends it
    run_worker(db)
    [mail] = outbox_mail
    assert mail["To"] == "li.na@example.com"
    assert "Set a new password" in mail["Subject"]  # the user's language: English
    link = link_in(mail)
    assert link.startswith(app.config["PUBLIC_BASE_URL"])
    run_worker(db)  # a second delivery of the task sends nothing
    assert len(outbox_mail) == 1

    form = client.get(path_of(link))
    assert form.status_code == 200 and 'name="password"' in form.get_data(as_text=True)
    done = set_password(client, path_of(link))
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    db.session.expire_all()
    assert verify_password(db.session.get(User, contact.id), NEW_PASSWORD)
    # every session and API token of the account ended
    assert db.session.scalar(select(func.count()).where(LoginSession.user_id == contact.id)) == 0
    assert (
        db.session.scalar(
            select(func.count()).where(ApiToken.user_id == contact.id, ApiToken.revoked_at.is_(None))
        )
        == 0
    )
    assert other_browser.get("/account").status_code == 302
    login(app.test_client(), contact.username, NEW_PASSWORD)

    again = client.get(path_of(link))
    assert again.status_code == 404
    assert 'href="/password-reset"' in again.get_data(as_text=True)  # a way to ask for another
    used = set_password(app.test_client(), path_of(link), "Another-Kettle-73")
    assert used.status_code == 404
    db.session.expire_all()
    assert verify_password(db.session.get(User, contact.id), NEW_PASSWORD)


def test_the_answer_is_the_same_for_an_account_a_missing_one_and_one_without_email(client, db, world):
    with_email(db, world.liaison, "liaison@example.gov.cn")
    world.manager.email = ""
    db.session.commit()
    answers = []
    for account in (world.liaison.username, "nobody-here", world.manager.username, "who@example.org"):
        response = ask(client, account)
        followed = client.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"], followed.get_data(as_text=True)))
    assert len({(status, location) for status, location, _page in answers}) == 1
    flashes = [re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S) for _s, _l, page in answers]
    assert all(f == flashes[0] for f in flashes) and flashes[0]
    # only the account with an address got a link
    [message] = reset_messages(db)
    row = db.session.get(PasswordReset, message.payload["reset_id"])
    assert row is not None and row.user_id == world.liaison.id and row.created_by_id is None


def test_an_email_address_finds_its_account(client, db, world, outbox_mail):
    with_email(db, world.liaison, "Zhou.Min@Example.gov.cn")
    ask(client, "zhou.min@example.gov.cn")
    run_worker(db)
    [mail] = outbox_mail
    assert mail["To"] == "Zhou.Min@Example.gov.cn"


def test_an_empty_or_hostile_request_is_answered_without_error(client, db, world):
    empty = ask(client, "")
    assert empty.status_code == 200 and field_errors(empty.get_data(as_text=True), "account")
    for hostile in ("ad\x00min", "x" * 300, "@" * 254):
        response = ask(client, hostile)
        assert response.status_code in (200, 302, 400), hostile  # a NUL byte: 400 at the edge
    assert reset_messages(db) == []


def test_a_new_link_voids_the_earlier_one(client, db, world, outbox_mail):
    with_email(db, world.liaison, "liaison@example.gov.cn")
    ask(client, world.liaison.username)
    run_worker(db)
    ask(client, world.liaison.username)
    run_worker(db)
    first, second = (path_of(link_in(mail)) for mail in outbox_mail)
    assert first != second
    replaced = client.get(first)
    assert replaced.status_code == 404
    assert set_password(client, second).status_code == 302


def test_a_link_expires_after_30_minutes(client, db, world, outbox_mail):
    with_email(db, world.liaison, "liaison@example.gov.cn")
    ask(client, world.liaison.username)
    run_worker(db)
    path = path_of(link_in(outbox_mail[0]))
    with time_machine.travel(utcnow() + timedelta(minutes=31)):
        assert client.get(path).status_code == 404
        assert set_password(client, path).status_code == 404
    db.session.expire_all()
    assert not verify_password(db.session.get(User, world.liaison.id), NEW_PASSWORD)


def test_an_expired_link_is_not_emailed(client, db, world, outbox_mail):
    with_email(db, world.liaison, "liaison@example.gov.cn")
    ask(client, world.liaison.username)
    with time_machine.travel(utcnow() + timedelta(minutes=31)):
        run_worker(db)
    assert outbox_mail == []


def test_a_weak_password_is_refused_next_to_the_field_and_the_link_still_works(client, db, world):
    _seed, token, _row = resets._new_link(world.liaison, None, utcnow())
    db.session.commit()
    path = f"/password-reset/{token}"
    weak = set_password(client, path, "12345678901")
    assert weak.status_code == 200
    assert field_errors(weak.get_data(as_text=True), "password")
    differ = set_password(client, path, NEW_PASSWORD, "Something-Else-99")
    assert field_errors(differ.get_data(as_text=True), "confirm")
    assert set_password(client, path).status_code == 302


def test_an_unknown_or_hostile_token_shows_a_clear_page(client):
    for token in ("nope", "x" * 500, "%00abc", "a%0Ab"):
        response = client.get(f"/password-reset/{token}")
        assert response.status_code == 404, token
        assert 'href="/password-reset"' in response.get_data(as_text=True)


def test_asking_for_links_is_rate_limited_per_account_and_per_address(app, db, world, monkeypatch):
    monkeypatch.setitem(app.config, "THROTTLE_RESET_REQUEST_PER_ACCOUNT", "2 per hour")
    monkeypatch.setitem(app.config, "THROTTLE_RESET_REQUEST_PER_ADDRESS", "4 per hour")
    with_email(db, world.liaison, "liaison@example.gov.cn")
    client = app.test_client()
    assert ask(client, world.liaison.username).status_code == 302
    assert ask(client, world.liaison.username).status_code == 302
    limited = ask(client, world.liaison.username)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert len(reset_messages(db)) == 2
    # the same limit for a name that has no account: the limit tells nothing
    for _ in range(2):
        assert ask(client, "nobody-here").status_code == 302
    # the address's limit (4) is reached now, whatever the account named
    assert ask(client, "someone-else").status_code == 429


# --------------------------------------------------------------------------- admin-issued links


def test_an_admin_issues_a_link_on_the_users_page_shown_once(app, client, db, world):
    login(client, world.admin.username)
    page = f"/admin/users/{world.contact.id}/edit"
    response = post_form(client, page, f"/admin/users/{world.contact.id}/reset-link", {})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    match = re.search(r"https?://[^\s\"<]+/password-reset/[A-Za-z0-9_-]+", html)
    assert match
    assert "no-store" in response.headers["Cache-Control"]
    assert match.group(0) not in client.get(page).get_data(as_text=True)  # shown once
    row = db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == world.contact.id)).one()
    assert row.created_by_id == world.admin.id
    assert (row.expires_at - row.created_at) == timedelta(minutes=30)
    contact_browser = app.test_client()
    assert set_password(contact_browser, path_of(match.group(0))).status_code == 302


def test_only_an_admin_issues_links_on_the_page(app, world):
    client = app.test_client()
    login(client, world.manager.username)
    assert client.get(f"/admin/users/{world.contact.id}/edit").status_code == 403


# --------------------------------------------------------------------------- API


def bearer(user: User, db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token, _row = issue_token(user, utcnow(), hours=1)
    db.session.commit()
    return {"Authorization": f"Bearer {token}", **EN}


def test_the_api_issues_a_link_and_voids_the_earlier_one(client, db, world):
    headers = bearer(world.admin, db)
    first = client.post(f"/api/v1/users/{world.contact.username}/reset-password", headers=headers)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert set(body) == {"reset_url", "expires_at"}
    assert body["reset_url"].startswith("http") and "+08:00" in body["expires_at"]
    second = client.post(f"/api/v1/users/{world.contact.username}/reset-password", headers=headers).get_json()
    old_token = body["reset_url"].rsplit("/", 1)[1]
    new_token = second["reset_url"].rsplit("/", 1)[1]

    stale = client.post(f"/api/v1/password-reset/{old_token}", json={"password": NEW_PASSWORD}, headers=EN)
    assert stale.status_code == 404
    assert "newer" in stale.get_json()["error"]["message"]
    weak = client.post(f"/api/v1/password-reset/{new_token}", json={"password": "password"}, headers=EN)
    assert weak.status_code == 400 and "password" in weak.get_json()["error"]["fields"]
    done = client.post(f"/api/v1/password-reset/{new_token}", json={"password": NEW_PASSWORD}, headers=EN)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["username"] == world.contact.username
    twice = client.post(f"/api/v1/password-reset/{new_token}", json={"password": NEW_PASSWORD}, headers=EN)
    assert twice.status_code == 404 and "used" in twice.get_json()["error"]["message"]
    token = client.post("/api/v1/tokens", json={"username": world.contact.username, "password": NEW_PASSWORD})
    assert token.status_code == 201


def test_only_admins_issue_links_through_the_api(client, db, world):
    for user in (world.manager, world.liaison, world.contact):
        answer = client.post(
            f"/api/v1/users/{world.contact.username}/reset-password", headers=bearer(user, db)
        )
        assert answer.status_code == 403, user.username
    headers = bearer(world.admin, db)
    assert client.post("/api/v1/users/nobody/reset-password", headers=headers).status_code == 404
    assert client.post("/api/v1/users/a%00b/reset-password", headers=headers).status_code == 404
    world.other_contact.active = False
    db.session.commit()
    inactive = client.post(f"/api/v1/users/{world.other_contact.username}/reset-password", headers=headers)
    assert inactive.status_code == 409
    assert db.session.scalar(select(func.count(PasswordReset.id))) == 0


def test_the_api_refuses_bad_bodies_and_tokens_without_error(client, db, world):
    _seed, token, _row = resets._new_link(world.liaison, None, utcnow())
    db.session.commit()
    url = f"/api/v1/password-reset/{token}"
    for body in ({}, {"password": 12345}, {"password": ["a"]}, {"password": {"x": {"y": 1}}}, []):
        answer = client.post(url, json=body, headers=EN)
        assert answer.status_code == 400, body
        assert "password" in answer.get_json()["error"]["fields"] or body == []
    assert client.post(url, data="not json", headers=EN).status_code in (400, 415)
    nul = client.post(url, json={"password": "Lantern\x00Orchard-58"}, headers=EN)
    assert nul.status_code == 400
    for bad in ("x" * 500, "unknown-token"):
        answer = client.post(f"/api/v1/password-reset/{bad}", json={"password": NEW_PASSWORD})
        assert answer.status_code == 404
    assert client.post(url, json={"password": NEW_PASSWORD}, headers=EN).status_code == 200


def test_an_expired_link_is_refused_by_the_api(client, db, world):
    _seed, token, _row = resets._new_link(world.liaison, None, utcnow())
    db.session.commit()
    with time_machine.travel(utcnow() + timedelta(minutes=30, seconds=1)):
        answer = client.post(f"/api/v1/password-reset/{token}", json={"password": NEW_PASSWORD}, headers=EN)
    assert answer.status_code == 404 and "expired" in answer.get_json()["error"]["message"]


def test_a_reset_also_ends_sessions_of_an_admin_issued_link(client, db, world):
    headers = bearer(world.liaison, db)
    _seed, token, _row = resets._new_link(world.liaison, world.admin, utcnow())
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    client.post(f"/api/v1/password-reset/{token}", json={"password": NEW_PASSWORD})
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert world.liaison.role == Role.LIAISON  # nothing else changed
