"""Enterprises edited, moved and given contacts by staff; claims on a registered code (issue 10, point 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hotline.auth import services as accounts
from hotline.auth.models import Role, User
from hotline.db import utcnow
from hotline.enterprises import claims
from hotline.enterprises.models import ClaimState, CoverageRole, Enterprise, EnterpriseClaim
from hotline.enterprises.services import (
    add_contact,
    register_enterprise,
    remove_contact,
    update_enterprise,
)
from hotline.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.notifications.models import Notification, NotificationKind
from hotline.routing.services import route_ticket
from hotline.tickets import queries
from hotline.tickets import services as tickets
from hotline.tickets.models import TicketState
from tests import factories
from tests.factories import World


@pytest.fixture(autouse=True)
def english(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


def register(uscc: str, **changes: Any) -> User:
    values: dict[str, Any] = {
        "uscc": uscc,
        "name": "真正的公司",
        "building_id": None,
        "room": "",
        "contact_name": "真联系人",
        "username": f"claimant{factories.n()}",
        "password": "long-enough-1",
        "email": "",
        "phone": "13800000000",
        "now": utcnow(),
    }
    values.update(changes)
    return register_enterprise(**values)


def notifications_of(user: User) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


# --------------------------------------------------------------------------- editing and moving


def test_the_liaison_edits_its_enterprise(world: World) -> None:
    enterprise = update_enterprise(
        world.enterprise.id, world.liaison, utcnow(), name=" 新名称 ", room="12F-1203", industry="软件"
    )
    assert (enterprise.name, enterprise.room, enterprise.industry) == ("新名称", "12F-1203", "软件")


def test_the_wrong_liaison_cannot_see_the_enterprise_to_edit_it(world: World) -> None:
    with pytest.raises(NotFound):
        update_enterprise(world.enterprise.id, world.other_liaison, utcnow(), name="抢注")
    for actor in (world.contact, world.department_user):
        with pytest.raises(Forbidden):
            update_enterprise(world.enterprise.id, actor, utcnow(), name="抢注")
    assert world.enterprise.name != "抢注"


def test_every_problem_of_an_edit_at_once_and_nothing_changed(world: World) -> None:
    name = world.enterprise.name
    with pytest.raises(ValidationFailed) as error:
        update_enterprise(
            world.enterprise.id,
            world.manager,
            utcnow(),
            uscc=factories.make_uscc(),
            name="  ",
            room="x" * 51,
            industry="a\x00b",
            building_id=10**30,
        )
    assert set(error.value.fields) == {"uscc", "name", "room", "industry", "building"}
    assert error.value.fields["uscc"] == "The unified social credit code of an enterprise cannot be changed."
    assert world.enterprise.name == name


def test_the_own_code_may_be_sent_back_unchanged(world: World) -> None:
    code = world.enterprise.uscc
    update_enterprise(world.enterprise.id, world.manager, utcnow(), uscc=code.lower(), name="同一代码")
    assert world.enterprise.uscc == code


def test_a_liaison_moves_an_enterprise_only_into_a_building_it_covers(world: World) -> None:
    elsewhere = factories.building(world.street)
    with pytest.raises(ValidationFailed) as error:
        update_enterprise(world.enterprise.id, world.liaison, utcnow(), building_id=elsewhere.id)
    assert error.value.fields == {"building": "You can only move enterprises into the buildings you cover."}
    inactive = factories.building(world.street)
    inactive.active = False
    with pytest.raises(ValidationFailed) as error:
        update_enterprise(world.enterprise.id, world.manager, utcnow(), building_id=inactive.id)
    assert error.value.fields == {"building": "Choose the building the enterprise is in."}


def test_a_moved_enterprise_keeps_its_open_requests_and_routes_new_ones_by_its_new_building(
    world: World,
) -> None:
    now = utcnow()
    before = world.submit(now)
    assert route_ticket(before.id, now).liaison_id == world.liaison.id
    new_building = factories.building(world.street)
    new_primary = factories.liaison([new_building], role=CoverageRole.PRIMARY)

    update_enterprise(world.enterprise.id, world.manager, now, building_id=new_building.id)

    db.session.refresh(before)
    assert before.building_id == world.building.id  # the open request keeps its building and liaison
    assert before.assignee_id == world.liaison.id
    after = world.submit(now)
    assert after.building_id == new_building.id
    decision = route_ticket(after.id, now)
    assert decision.liaison_id == new_primary.id
    assert decision.rule == "primary"
    # the old liaison still sees what it holds, the new one the new request
    held = db.session.scalars(queries.visible_tickets(world.liaison)).all()
    assert before.id in [t.id for t in held]
    visible_to_new = db.session.scalars(queries.visible_tickets(new_primary)).all()
    assert [t.id for t in visible_to_new] == [after.id]


# --------------------------------------------------------------------------- contacts


def contact_values(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "username": f"colleague{factories.n()}",
        "name": "同事",
        "phone": "13900000000",
        "email": "colleague@example.com",
        "password": "long-enough-1",
    }
    values.update(changes)
    return values


def test_a_second_contact_sees_the_enterprise_requests(world: World) -> None:
    ticket = world.submit()
    colleague = add_contact(world.enterprise.id, world.liaison, utcnow(), **contact_values())
    assert colleague.enterprise_id == world.enterprise.id and colleague.role == Role.ENTERPRISE
    assert [t.id for t in db.session.scalars(queries.visible_tickets(colleague))] == [ticket.id]


def test_a_duplicate_username_and_every_other_problem_at_once(world: World) -> None:
    with pytest.raises(ValidationFailed) as error:
        add_contact(
            world.enterprise.id,
            world.manager,
            utcnow(),
            **contact_values(
                username=world.contact.username, name="", phone="12", email="nope", password="short"
            ),
        )
    assert error.value.fields["username"] == "This username is taken."
    assert set(error.value.fields) == {"username", "name", "phone", "email", "password"}


def test_the_wrong_liaison_cannot_add_a_contact(world: World) -> None:
    with pytest.raises(NotFound):
        add_contact(world.enterprise.id, world.other_liaison, utcnow(), **contact_values())
    with pytest.raises(Forbidden):
        add_contact(world.enterprise.id, world.contact, utcnow(), **contact_values())


def test_removing_a_contact_deactivates_it_but_never_the_last_one(app, world: World) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    world.submit(now)
    with pytest.raises(Conflict):
        remove_contact(world.enterprise.id, world.contact.username, world.liaison, now)
    colleague = add_contact(world.enterprise.id, world.liaison, now, **contact_values())
    token, _row = accounts.issue_token(world.contact, now, hours=1)
    removed = remove_contact(world.enterprise.id, world.contact.username, world.liaison, now)
    assert removed.active is False
    assert db.session.get(User, world.contact.id) is not None  # kept: it filed a request
    assert accounts.user_for_token(token, now) is None
    with pytest.raises(InvalidTransition):
        remove_contact(world.enterprise.id, world.contact.username, world.liaison, now)
    with pytest.raises(Conflict):  # now the colleague is the last one
        remove_contact(world.enterprise.id, colleague.username, world.manager, now)
    with pytest.raises(NotFound):  # another enterprise's contact
        remove_contact(world.enterprise.id, world.other_contact.username, world.manager, now)
    with pytest.raises(NotFound):
        remove_contact(world.other_enterprise.id, world.other_contact.username, world.liaison, now)


# --------------------------------------------------------------------------- claims


def test_a_registered_code_becomes_a_claim_that_sees_nothing(world: World) -> None:
    ticket = world.submit()
    claimant = register(world.enterprise.uscc, building_id=world.building.id)
    assert claimant.enterprise_id is None and claimant.role == Role.ENTERPRISE
    assert db.session.scalars(queries.visible_tickets(claimant)).all() == []
    assert ticket.id not in [t.id for t in db.session.scalars(queries.visible_tickets(claimant))]
    with pytest.raises(Forbidden):
        tickets.submit_ticket(
            claimant,
            category=world.category.code,
            title="冒充",
            description="冒充的诉求",
            contact_phone="13800138000",
            now=utcnow(),
        )
    claim = db.session.scalars(select(EnterpriseClaim)).one()
    assert (claim.enterprise_id, claim.state, claim.claimed_name) == (
        world.enterprise.id,
        ClaimState.PENDING,
        "真正的公司",
    )
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 2  # no second enterprise
    told = notifications_of(world.liaison)
    assert [n.kind for n in told] == [NotificationKind.CLAIM_FILED]
    assert notifications_of(world.other_liaison) == []


def test_a_claim_with_bad_fields_saves_nothing(world: World) -> None:
    with pytest.raises(ValidationFailed) as error:
        register(world.enterprise.uscc, building_id=world.building.id, username=world.contact.username)
    assert set(error.value.fields) == {"username"}
    assert db.session.scalar(select(func.count()).select_from(EnterpriseClaim)) == 0


def test_the_liaison_confirms_a_claim_and_the_claimant_becomes_a_contact(world: World) -> None:
    ticket = world.submit()
    claimant = register(world.enterprise.uscc, building_id=world.building.id)
    claim = db.session.scalars(select(EnterpriseClaim)).one()
    assert [c.id for c in db.session.scalars(claims.claim_list(world.liaison))] == [claim.id]
    assert db.session.scalars(claims.claim_list(world.other_liaison)).all() == []

    claims.confirm_claim(claim.id, world.liaison, "已电话核实", utcnow())
    assert claim.state == ClaimState.CONFIRMED and claim.decided_by_id == world.liaison.id
    assert claimant.enterprise_id == world.enterprise.id
    assert [t.id for t in db.session.scalars(queries.visible_tickets(claimant))] == [ticket.id]
    (notice,) = notifications_of(claimant)
    assert notice.kind == NotificationKind.CLAIM_CONFIRMED
    assert notice.params["excerpt"] == "已电话核实"
    with pytest.raises(InvalidTransition):
        claims.reject_claim(claim.id, world.manager, "晚了", utcnow())


def test_a_claim_is_decided_only_by_the_buildings_liaison_or_a_manager(world: World) -> None:
    register(world.enterprise.uscc, building_id=world.building.id)
    claim = db.session.scalars(select(EnterpriseClaim)).one()
    with pytest.raises(NotFound):
        claims.confirm_claim(claim.id, world.other_liaison, "", utcnow())
    with pytest.raises(NotFound):
        claims.reject_claim(claim.id, world.other_liaison, "不是", utcnow())
    for actor in (world.contact, world.department_user):
        with pytest.raises(Forbidden):
            claims.confirm_claim(claim.id, actor, "", utcnow())
    with pytest.raises(NotFound):
        claims.confirm_claim(10**30, world.manager, "", utcnow())
    assert claim.state == ClaimState.PENDING


def test_a_rejection_needs_a_note_and_leaves_the_account_without_enterprise(world: World) -> None:
    claimant = register(world.enterprise.uscc, building_id=world.building.id)
    claim = db.session.scalars(select(EnterpriseClaim)).one()
    with pytest.raises(ValidationFailed) as error:
        claims.reject_claim(claim.id, world.manager, "  ", utcnow())
    assert set(error.value.fields) == {"note"}
    with pytest.raises(ValidationFailed):
        claims.reject_claim(claim.id, world.manager, "x" * (claims.NOTE_MAX + 1), utcnow())
    claims.reject_claim(claim.id, world.manager, "营业执照不符", utcnow())
    assert claim.state == ClaimState.REJECTED and claim.note == "营业执照不符"
    assert claimant.enterprise_id is None and claimant.active
    (notice,) = notifications_of(claimant)
    assert notice.kind == NotificationKind.CLAIM_REJECTED


def test_a_building_without_liaison_sends_claims_to_the_managers(world: World) -> None:
    lonely = factories.enterprise(factories.building(world.street))
    register(lonely.uscc, building_id=world.building.id)
    assert [n.kind for n in notifications_of(world.manager)] == [NotificationKind.CLAIM_FILED]


def test_tickets_in_progress_stay_in_their_state_when_moved(world: World) -> None:
    ticket = world.in_progress()
    update_enterprise(world.enterprise.id, world.manager, utcnow(), building_id=factories.building().id)
    assert ticket.state == TicketState.IN_PROGRESS and ticket.assignee_id == world.liaison.id
