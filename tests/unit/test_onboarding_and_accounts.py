"""Services added for onboarding and account administration, without HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline.auth import services as accounts
from hotline.auth.models import ApiToken, LoginSession
from hotline.db import utcnow
from hotline.enterprises.models import Enterprise
from hotline.enterprises.services import create_enterprise_with_contact
from hotline.errors import Forbidden, ValidationFailed
from tests import factories


def onboard(actor, building_id, **changes):  # type: ignore[no-untyped-def]
    values = {
        "actor": actor,
        "uscc": factories.make_uscc(),
        "name": "新企业",
        "building_id": building_id,
        "room": "",
        "contact_name": "联系人",
        "username": f"contact{factories.n()}",
        "password": "long-enough-1",
        "email": "",
        "phone": "13800000000",
        "now": utcnow(),
    }
    values.update(changes)
    return create_enterprise_with_contact(**values)


def test_a_liaison_cannot_onboard_into_a_building_it_does_not_cover(world, db):
    with pytest.raises(ValidationFailed) as error:
        onboard(world.liaison, world.other_enterprise.building_id, uscc="bad")
    assert set(error.value.fields) == {"building", "uscc"}  # every problem at once
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 2


def test_onboarded_enterprises_are_verified_by_the_actor(world):
    enterprise = onboard(world.manager, world.other_enterprise.building_id)
    assert enterprise.verified_by_id == world.manager.id
    assert enterprise.verified_at is not None


def test_contacts_and_departments_cannot_onboard(world):
    for actor in (world.contact, world.department_user):
        with pytest.raises(Forbidden):
            onboard(actor, world.building.id)


def test_deactivation_ends_sessions_and_tokens(app, world, db):
    now = utcnow()
    accounts.open_login_session(world.liaison, now, app.config["PERMANENT_SESSION_LIFETIME"])
    token, _ = accounts.issue_token(world.liaison, now, hours=1)
    accounts.set_user_active(world.liaison.id, False, actor=world.admin, now=now)
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert accounts.user_for_token(token, now) is None
    assert db.session.scalars(select(ApiToken)).one().revoked_at is not None
    with pytest.raises(Forbidden):
        accounts.set_user_active(world.contact.id, False, actor=world.manager, now=now)


def test_a_password_change_keeps_only_the_current_browser(app, world, db):
    now = utcnow()
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    mine = accounts.open_login_session(world.contact, now, lifetime)
    accounts.open_login_session(world.contact, now, lifetime)
    accounts.change_password(
        world.contact, factories.PASSWORD, "another-secret-1", now, keep_session_key=mine
    )
    assert db.session.scalars(select(LoginSession.key)).all() == [mine]
    assert accounts.authenticate(world.contact.username, "another-secret-1", now) is not None


def test_availability_is_for_liaisons(world):
    assert accounts.set_availability(world.liaison, False).available is False
    with pytest.raises(Forbidden):
        accounts.set_availability(world.manager, False)
