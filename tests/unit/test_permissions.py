"""Who sees which requests (DESIGN §3, enforced in the queries) and the accounts behind them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from flask_babel import force_locale
from sqlalchemy import select

from hotline.auth import services as accounts
from hotline.auth.models import ApiToken, LoginSession, Role, User
from hotline.enterprises.models import Coverage, CoverageRole
from hotline.errors import NotFound, ValidationFailed
from hotline.extensions import db
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket
from hotline.tickets.queries import get_visible_ticket, get_visible_ticket_by_id, visible_tickets
from tests import factories
from tests.factories import World

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


def numbers(user: User) -> set[str]:
    return set(db.session.scalars(visible_tickets(user).with_only_columns(Ticket.number)))


class District:
    """Four requests spread over two enterprises, two liaisons and a department.

    - ``own``: filed by ``w.contact``; its building is covered by ``w.liaison``;
    - ``other``: filed by ``w.other_contact``, in a building ``w.liaison`` does not cover;
    - ``assigned_away``: also ``w.other_contact``'s, dispatched by hand to ``w.liaison``;
    - ``transferred``: ``w.contact``'s, in progress with ``w.liaison`` and transferred to ``w.department``.
    """

    def __init__(self, w: World) -> None:
        self.own = w.submit(T0)
        self.other = tickets.submit_ticket(
            w.other_contact,
            category=w.category.code,
            title="水电气报修",
            description="停水两天。",
            contact_phone="13900139000",
            now=T0,
        )
        self.assigned_away = tickets.submit_ticket(
            w.other_contact,
            category=w.category.code,
            title="人才补贴",
            description="申请流程咨询。",
            contact_phone="13900139000",
            now=T0,
        )
        tickets.assign(self.assigned_away.id, w.manager, w.liaison.username, T0)
        self.transferred = w.in_progress(T0)
        tickets.transfer(self.transferred.id, w.liaison, w.department.code, T0)

    @property
    def all(self) -> set[str]:
        return {t.number for t in (self.own, self.other, self.assigned_away, self.transferred)}


@pytest.fixture
def district(world: World) -> District:
    return District(world)


def test_enterprise_sees_only_its_own(world: World, district: District) -> None:
    assert numbers(world.contact) == {district.own.number, district.transferred.number}
    assert numbers(world.other_contact) == {district.other.number, district.assigned_away.number}


def test_liaison_sees_its_buildings_and_what_is_assigned_to_it(world: World, district: District) -> None:
    assert numbers(world.liaison) == {
        district.own.number,
        district.transferred.number,
        district.assigned_away.number,
    }
    # other_liaison covers a building with no requests and has nothing assigned.
    assert numbers(world.other_liaison) == set()


def test_coverage_gives_and_takes_visibility(world: World, district: District) -> None:
    coverage = Coverage(
        liaison_id=world.other_liaison.id,
        building_id=world.other_enterprise.building_id,
        role=CoverageRole.DEPUTY,
    )
    db.session.add(coverage)
    db.session.flush()
    assert numbers(world.other_liaison) == {district.other.number, district.assigned_away.number}
    coverage.active = False
    db.session.flush()
    assert numbers(world.other_liaison) == set()


def test_department_sees_only_what_is_transferred_to_it(world: World, district: District) -> None:
    assert numbers(world.department_user) == {district.transferred.number}
    assert numbers(factories.department_user()) == set()
    tickets.handback(district.transferred.id, world.department_user, "已转回", T0)
    assert numbers(world.department_user) == set()


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_see_everything(world: World, district: District, role: str) -> None:
    assert numbers(getattr(world, role)) == district.all


def test_another_enterprises_number_answers_not_found(world: World, district: District) -> None:
    with pytest.raises(NotFound) as info:
        get_visible_ticket(world.contact, district.other.number)
    assert info.value.status == 404
    with pytest.raises(NotFound):
        get_visible_ticket_by_id(world.contact, district.other.id)
    # The same answer as for a number that does not exist at all: nothing to learn from probing.
    with pytest.raises(NotFound) as missing:
        get_visible_ticket(world.contact, "QH20260310-9999")
    assert missing.value.message == info.value.message
    assert get_visible_ticket(world.contact, district.own.number).id == district.own.id


@pytest.mark.parametrize(
    ("user_key", "ticket_key"),
    [
        ("other_liaison", "own"),
        ("liaison", "other"),
        ("department_user", "own"),
        ("other_contact", "transferred"),
    ],
)
def test_not_visible_means_not_found(
    world: World, district: District, user_key: str, ticket_key: str
) -> None:
    with pytest.raises(NotFound):
        get_visible_ticket(getattr(world, user_key), getattr(district, ticket_key).number)


def test_visible_for_update_returns_the_request(world: World, district: District) -> None:
    ticket = get_visible_ticket(world.liaison, district.assigned_away.number, for_update=True)
    assert ticket.id == district.assigned_away.id


# --------------------------------------------------------------------------- accounts


def test_passwords_are_hashed_with_argon2id(world: World) -> None:
    user = world.liaison
    assert user.password_hash.startswith("$argon2id$")
    assert factories.PASSWORD not in user.password_hash
    assert extract_parameters(user.password_hash).type is Type.ID


def test_the_production_hasher_is_argon2id() -> None:
    # The tests use cheap parameters; the default the application starts with is argon2id too.
    assert PasswordHasher().type is Type.ID
    assert accounts.hash_password("x" * 12).startswith("$argon2id$")


def test_authenticate(world: World) -> None:
    user = accounts.authenticate(world.liaison.username, factories.PASSWORD, T0)
    assert user is not None
    assert user.id == world.liaison.id
    assert user.last_login_at == T0
    assert accounts.authenticate(f"  {world.liaison.username} ", factories.PASSWORD, T0) is not None


@pytest.mark.parametrize("case", ["wrong_password", "unknown_user", "inactive", "empty_password", "case"])
def test_authenticate_refuses(world: World, case: str) -> None:
    username, password = world.liaison.username, factories.PASSWORD
    if case == "wrong_password":
        password = factories.PASSWORD + "x"
    elif case == "unknown_user":
        username = "nobody-here"
    elif case == "inactive":
        world.liaison.active = False
    elif case == "empty_password":
        password = ""
    else:
        password = factories.PASSWORD.upper()
    assert accounts.authenticate(username, password, T0) is None
    assert world.liaison.last_login_at is None


def test_a_closed_login_session_no_longer_loads(world: World) -> None:
    key = accounts.open_login_session(world.contact, T0, timedelta(hours=8), user_agent="pytest")
    other_key = accounts.open_login_session(world.contact, T0, timedelta(hours=8))
    loaded = accounts.load_login_session(key, T0 + timedelta(minutes=5))
    assert loaded is not None
    assert loaded.id == world.contact.id
    assert loaded.get_id() == key

    accounts.close_login_session(key)
    assert accounts.load_login_session(key, T0 + timedelta(minutes=6)) is None
    # Only that browser is signed out.
    assert accounts.load_login_session(other_key, T0 + timedelta(minutes=6)) is not None
    assert db.session.scalars(select(LoginSession).where(LoginSession.key == key)).first() is None


def test_a_login_session_expires_and_ends_with_the_account(world: World) -> None:
    key = accounts.open_login_session(world.contact, T0, timedelta(hours=8))
    assert accounts.load_login_session(key, T0 + timedelta(hours=8) - timedelta(seconds=1)) is not None
    assert accounts.load_login_session(key, T0 + timedelta(hours=8)) is None
    fresh = accounts.open_login_session(world.contact, T0, timedelta(hours=8))
    world.contact.active = False
    assert accounts.load_login_session(fresh, T0) is None
    assert accounts.load_login_session("not-a-key", T0) is None


def test_api_tokens_are_stored_as_digests_and_expire(world: World) -> None:
    token, row = accounts.issue_token(world.liaison, T0, hours=24)
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert db.session.scalars(select(ApiToken).where(ApiToken.digest == token)).first() is None
    assert row.expires_at == T0 + timedelta(hours=24)

    user = accounts.user_for_token(token, T0 + timedelta(hours=23))
    assert user is not None
    assert user.id == world.liaison.id
    assert accounts.user_for_token(token, T0 + timedelta(hours=24)) is None
    assert accounts.user_for_token("forged", T0) is None


def test_api_tokens_revoke(world: World) -> None:
    token, row = accounts.issue_token(world.liaison, T0, hours=24)
    other, _ = accounts.issue_token(world.liaison, T0, hours=24)
    assert accounts.revoke_token(token, T0 + timedelta(hours=1)) is True
    assert row.revoked_at == T0 + timedelta(hours=1)
    assert accounts.user_for_token(token, T0 + timedelta(hours=2)) is None
    assert accounts.revoke_token(token, T0 + timedelta(hours=3)) is False  # already revoked
    assert accounts.revoke_token("unknown", T0) is False
    assert accounts.user_for_token(other, T0 + timedelta(hours=2)) is not None


def test_api_tokens_stop_with_the_account(world: World) -> None:
    token, _ = accounts.issue_token(world.liaison, T0, hours=24)
    world.liaison.active = False
    assert accounts.user_for_token(token, T0) is None


def test_create_user_checks_its_input(world: World) -> None:
    cases = [
        ({"username": "ab"}, "username"),
        ({"username": world.liaison.username}, "username"),
        ({"password": "short"}, "password"),
        ({"name": "  "}, "name"),
        ({"role": "superuser"}, "role"),
        ({"role": Role.DEPARTMENT, "department_code": "nope"}, "department"),
        ({"role": Role.ENTERPRISE}, "role"),
    ]
    for overrides, field in cases:
        values: dict[str, object] = {
            "username": "fresh-user",
            "password": "long-enough-pass",
            "name": "新用户",
            "role": Role.LIAISON,
            "now": T0,
        }
        values.update(overrides)
        with pytest.raises(ValidationFailed) as info:
            accounts.create_user(**values)  # type: ignore[arg-type]
        assert field in info.value.fields, overrides
    assert db.session.scalars(select(User).where(User.username == "fresh-user")).first() is None
