"""Administrators change accounts (update_user, set_user_active) and reset links (hotline.auth.resets)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.auth import resets
from hotline.auth import services as accounts
from hotline.auth.models import ApiToken, LoginSession, PasswordReset, Role
from hotline.db import utcnow
from hotline.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline.outbox.models import OutboxMessage
from tests import factories

PASSWORD = "Lantern-Orchard-58"


def signed_in(user):  # type: ignore[no-untyped-def]
    now = utcnow()
    accounts.open_login_session(user, now, timedelta(hours=1))
    accounts.issue_token(user, now, hours=1)


def still_signed_in(db, user) -> bool:  # type: ignore[no-untyped-def]
    sessions = db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).all()
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    return bool(sessions or tokens)


def test_an_admin_changes_name_phone_email_and_department(db, world):
    other = factories.department()
    user = accounts.update_user(
        world.department_user.id,
        world.admin,
        utcnow(),
        name=" 王芳 ",
        phone="13900139000",
        email="Wang.Fang@Example.gov.cn",
        department_code=other.code,
    )
    assert (user.name, user.phone, user.department_id) == ("王芳", "13900139000", other.id)
    assert user.email == "Wang.Fang@example.gov.cn"  # normalised like the profile's


def test_every_problem_is_reported_at_once_and_nothing_changes(db, world):
    with pytest.raises(ValidationFailed) as refused:
        accounts.update_user(
            world.manager.id,
            world.admin,
            utcnow(),
            name="",
            phone="call me",
            email="nope",
            role="department",
            department_code="no-such",
        )
    assert set(refused.value.fields) == {"name", "phone", "email", "department"}
    db.session.rollback()
    assert world.manager.role == Role.MANAGER


def test_a_role_change_ends_the_users_sessions_and_tokens(db, world):
    signed_in(world.manager)
    accounts.update_user(
        world.manager.id, world.admin, utcnow(), role="department", department_code=world.department.code
    )
    assert world.manager.role == Role.DEPARTMENT and world.manager.department_id == world.department.id
    assert not still_signed_in(db, world.manager)
    accounts.update_user(world.manager.id, world.admin, utcnow(), role="manager")
    assert world.manager.department_id is None  # no longer department staff


def test_a_change_without_a_role_change_keeps_the_sessions(db, world):
    signed_in(world.manager)
    accounts.update_user(world.manager.id, world.admin, utcnow(), name="新名字", role="manager")
    assert still_signed_in(db, world.manager)


def test_a_liaison_holding_requests_or_covering_buildings_stays_a_liaison(db, world):
    world.in_progress()
    with pytest.raises(ValidationFailed) as held:
        accounts.update_user(world.liaison.id, world.admin, utcnow(), role="manager")
    assert "role" in held.value.fields and "1" in held.value.fields["role"]
    # no requests, but a building covered
    with pytest.raises(ValidationFailed) as covering:
        accounts.update_user(world.other_liaison.id, world.admin, utcnow(), role="manager")
    assert "role" in covering.value.fields
    free = factories.liaison()
    assert accounts.update_user(free.id, world.admin, utcnow(), role="manager").role == Role.MANAGER


def test_enterprise_contacts_and_staff_never_swap(db, world):
    for user, role in ((world.contact, "liaison"), (world.manager, "enterprise")):
        with pytest.raises(ValidationFailed) as refused:
            accounts.update_user(user.id, world.admin, utcnow(), role=role)
        assert "role" in refused.value.fields


def test_an_admin_keeps_its_own_role_and_account(db, world):
    with pytest.raises(ValidationFailed) as own_role:
        accounts.update_user(world.admin.id, world.admin, utcnow(), role="manager")
    assert "role" in own_role.value.fields
    with pytest.raises(ValidationFailed) as own_account:
        accounts.update_user(world.admin.id, world.admin, utcnow(), active=False)
    assert "active" in own_account.value.fields


def test_the_last_active_admin_is_neither_demoted_nor_deactivated(db, world):
    with pytest.raises(ValidationFailed):
        accounts.update_user(world.admin.id, None, utcnow(), role="manager")  # the command line
    with pytest.raises(ValidationFailed):
        accounts.set_user_active(world.admin.id, False, None, utcnow())
    second = factories.user(Role.ADMIN)
    assert accounts.update_user(world.admin.id, second, utcnow(), role="manager").role == Role.MANAGER
    with pytest.raises(ValidationFailed):
        accounts.set_user_active(second.id, False, None, utcnow())


def test_only_admins_change_accounts(db, world):
    for actor in (world.manager, world.liaison, world.contact):
        with pytest.raises(Forbidden):
            accounts.update_user(world.department_user.id, actor, utcnow(), name="x")
    with pytest.raises(NotFound):
        accounts.update_user(10**9, world.admin, utcnow(), name="x")


def test_deactivation_through_update_follows_set_user_active(db, world):
    world.in_progress()
    with pytest.raises(ValidationFailed) as held:
        accounts.update_user(world.liaison.id, world.admin, utcnow(), active=False)
    assert "active" in held.value.fields
    signed_in(world.manager)
    accounts.update_user(world.manager.id, world.admin, utcnow(), active=False)
    assert not world.manager.active and not still_signed_in(db, world.manager)


def test_create_user_reports_every_problem_at_once(db, world):
    with pytest.raises(ValidationFailed) as refused:
        accounts.create_user(
            username="x",
            password="short",
            name="",
            role="department",
            phone="abc",
            email="nope",
            now=utcnow(),
            actor=world.admin,
        )
    assert set(refused.value.fields) == {"username", "password", "name", "phone", "email", "department"}


# --------------------------------------------------------------------------- reset links


def test_a_self_service_request_queues_one_email_per_account_with_an_address(db, world):
    world.liaison.email = "shared@example.com"
    world.manager.email = "shared@example.com"
    world.department_user.email = ""
    assert resets.request_password_reset("SHARED@example.com", utcnow()) == 2
    assert resets.request_password_reset(world.department_user.username, utcnow()) == 0
    assert resets.request_password_reset("nobody", utcnow()) == 0
    world.manager.active = False
    assert resets.request_password_reset(world.manager.username, utcnow()) == 0
    payloads = [m.payload for m in db.session.scalars(select(OutboxMessage))]
    assert len(payloads) == 2 and all(set(p) == {"reset_id", "seed"} for p in payloads)


def test_only_the_digest_of_a_link_is_stored(db, world):
    url, expires_at = resets.issue_reset_link(world.contact.username, world.admin, utcnow())
    token = url.rsplit("/", 1)[1]
    row = db.session.scalars(select(PasswordReset)).one()
    assert row.digest != token and len(row.digest) == 64
    assert row.created_by_id == world.admin.id and row.expires_at == expires_at


def test_only_admins_issue_links_and_never_for_a_deactivated_account(db, world):
    for actor in (world.manager, world.liaison):
        with pytest.raises(Forbidden):
            resets.issue_reset_link(world.contact.username, actor, utcnow())
    with pytest.raises(NotFound):
        resets.issue_reset_link("nobody", world.admin, utcnow())
    world.contact.active = False
    with pytest.raises(Conflict):
        resets.issue_reset_link(world.contact.username, world.admin, utcnow())


def test_a_link_sets_the_password_once_and_ends_every_session(db, world):
    signed_in(world.contact)
    url, _expires = resets.issue_reset_link(world.contact.username, world.admin, utcnow())
    token = url.rsplit("/", 1)[1]
    with pytest.raises(ValidationFailed) as weak:
        resets.complete_password_reset(token, "password123", utcnow())
    assert "password" in weak.value.fields
    user = resets.complete_password_reset(token, PASSWORD, utcnow())
    assert accounts.verify_password(user, PASSWORD)
    assert not still_signed_in(db, world.contact)
    with pytest.raises(NotFound):
        resets.complete_password_reset(token, "Another-Kettle-73", utcnow())


def test_a_link_expires(db, world):
    now = utcnow()
    url, _expires = resets.issue_reset_link(world.contact.username, world.admin, now)
    token = url.rsplit("/", 1)[1]
    resets.check_reset_link(token, now + timedelta(minutes=29))
    with pytest.raises(NotFound):
        resets.check_reset_link(token, now + timedelta(minutes=30))


def test_a_changed_secret_key_sends_nothing(app, db, world, monkeypatch):
    world.liaison.email = "liaison@example.gov.cn"
    resets.request_password_reset(world.liaison.username, utcnow())
    message = db.session.scalars(select(OutboxMessage)).one()
    sent: list[object] = []
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.test")
    monkeypatch.setattr("hotline.notifications.email._deliver", sent.append)
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-key")
    assert not resets.send_password_reset_email(
        message.payload["reset_id"], message.payload["seed"], utcnow()
    )
    assert sent == []
