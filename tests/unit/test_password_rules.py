"""The password rules (``check_password_rules``), and the services that set a password applying them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.demo.data import PASSWORD as DEMO_PASSWORD
from hotline.enterprises.services import create_enterprise_with_contact
from hotline.errors import ValidationFailed
from tests import factories
from tests.factories import World
from tests.functional.html import field_block
from tests.helpers import login

TOO_SHORT = "Use at least 10 characters."
IS_USERNAME = "The password must not be the username."
ONE_KIND = "Mix at least two kinds of characters: lowercase letters, capitals, digits, symbols."
COMMON = "This password is too common or too easy to guess."


@pytest.fixture(autouse=True)
def english(app: Flask) -> Iterator[None]:
    with force_locale("en"):
        yield


def refusal(password: str, username: str = "", field: str = "password") -> str | None:
    """The message refusing ``password``, or None when the rules accept it."""
    try:
        accounts.check_password_rules(password, field, username=username)
    except ValidationFailed as error:
        assert set(error.fields) == {field}
        assert error.message == error.fields[field]
        return error.fields[field]
    return None


@pytest.mark.parametrize(
    "password",
    [
        DEMO_PASSWORD,
        factories.PASSWORD,
        # the other passwords the tests set
        "a-long-password-1",
        "brand-new-secret",
        "welcome-2026-x",
        "cli-password-1",
        "initial-pass-1",
        "long-enough-1",
        "long-enough-pass",
        "long-enough-password",
        "zhangsan-园区-88",
    ],
)
def test_the_passwords_in_use_pass(password: str) -> None:
    assert refusal(password, username="liaison1") is None


@pytest.mark.parametrize(
    ("password", "username", "message"),
    [
        ("short", "", TOO_SHORT),
        ("Abc-12345", "", TOO_SHORT),  # 9 characters
        ("Zhang.Wei-2026", "zhang.wei-2026", IS_USERNAME),
        ("ZHANG.WEI-2026", " Zhang.Wei-2026 ", IS_USERNAME),
        ("8475920163", "", ONE_KIND),
        ("qzvkwmxbtr", "", ONE_KIND),
        ("QZVKWMXBTRPL", "", ONE_KIND),
        ("!@#$%^&*()_+", "", ONE_KIND),
        ("password123", "", COMMON),
        ("Password2024!", "", COMMON),
        ("iloveyou12", "", COMMON),
        ("qwer1234!@", "", COMMON),
        ("woaini1314", "", COMMON),
        ("abc123abc123", "", COMMON),
        ("liaison12-2026", "liaison12", COMMON),  # the username with a little added
    ],
)
def test_each_broken_rule_has_its_message(password: str, username: str, message: str) -> None:
    assert refusal(password, username) == message


def test_the_message_goes_on_the_named_field() -> None:
    assert refusal("password123", field="new_password") == COMMON


def test_a_password_longer_than_zxcvbn_takes_is_judged_by_its_beginning() -> None:
    strong = "kq7-Vt3.xZ9_mW2!"  # zxcvbn itself refuses more than 72 characters (ValueError)
    assert refusal(strong * 12) is None


def test_creating_a_user_refuses_its_username_as_password(world: World, db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as error:
        accounts.create_user(
            username="wang.lei-2026",
            password="Wang.Lei-2026",
            name="王磊",
            role=Role.LIAISON,
            now=utcnow(),
            actor=world.admin,
        )
    assert error.value.fields == {"password": IS_USERNAME}
    assert db.session.scalars(select(User).where(User.username == "wang.lei-2026")).first() is None


def test_a_password_change_applies_the_rules_to_the_new_password(world: World) -> None:
    user = factories.user(Role.LIAISON, username="wang.lei-2026")
    for new, message in [
        ("1234567890", ONE_KIND),
        ("password123", COMMON),
        ("WANG.LEI-2026", IS_USERNAME),
    ]:
        with pytest.raises(ValidationFailed) as error:
            accounts.change_password(user, factories.PASSWORD, new, now=utcnow())
        assert error.value.fields == {"new_password": message}
    assert accounts.verify_password(user, factories.PASSWORD)


def test_onboarding_refuses_the_contacts_username_as_password(world: World) -> None:
    with pytest.raises(ValidationFailed) as error:
        create_enterprise_with_contact(
            actor=world.manager,
            uscc=factories.make_uscc(),
            name="新企业",
            building_id=world.building.id,
            room="",
            contact_name="联系人",
            username="xinghe-2026",
            password="XINGHE-2026",
            email="",
            phone="13800000000",
            now=utcnow(),
        )
    assert error.value.fields == {"password": IS_USERNAME}


@pytest.mark.parametrize(
    ("role", "page", "field"),
    [
        (None, "/register", "password"),
        ("contact", "/account", "new_password"),
        ("manager", "/enterprises/new", "password"),
        ("admin", "/admin/users/new", "password"),
    ],
)
def test_every_form_that_sets_a_password_shows_the_rule(
    client: FlaskClient, world: World, role: str | None, page: str, field: str
) -> None:
    assert client.get("/lang/en").status_code == 302
    if role:
        login(client, getattr(world, role).username)
    html = client.get(page).get_data(as_text=True)
    help_text = re.sub(r"\s+", " ", field_block(html, field))
    assert "At least 10 characters of at least two kinds" in help_text
    assert "not your username, nor a common or easily guessed password." in help_text
