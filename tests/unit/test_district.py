"""The rules of the district's setup (issue 10, points 1 and 2), on the services, allowed and refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.district import services as district
from hotline.enterprises.models import Building, Coverage, CoverageRole
from hotline.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline.extensions import db
from hotline.timeutil import local_date
from tests import factories
from tests.factories import World


@pytest.mark.parametrize("role", [Role.LIAISON, Role.DEPARTMENT, Role.ENTERPRISE])
def test_only_managers_and_admins_change_the_setup(world: World, role: Role) -> None:
    actor = {
        Role.LIAISON: world.liaison,
        Role.DEPARTMENT: world.department_user,
        Role.ENTERPRISE: world.contact,
    }[role]
    now = utcnow()
    for change in (
        lambda: district.create_street(actor, now, code="X1", name="某街道"),
        lambda: district.update_building(world.building.id, actor, now, {"name": "新名"}),
        lambda: district.create_department(actor, now, code="d9", name="某局"),
        lambda: district.update_category(world.category.code, actor, now, {"active": False}),
        lambda: district.assign_coverage(
            actor, now, building=world.building.id, liaison=world.other_liaison.username, kind="deputy"
        ),
    ):
        with pytest.raises(Forbidden):
            change()
    assert district.create_street(world.admin, now, code="X1", name="某街道").code == "X1"


def test_names_are_unique_without_case_and_codes_are_kept(world: World) -> None:
    now = utcnow()
    district.create_street(world.manager, now, code="Alpha", name="Alpha Street")
    with pytest.raises(ValidationFailed) as refused:
        district.create_street(world.manager, now, code="alpha", name="ALPHA STREET")
    assert set(refused.value.fields) == {"code", "name"}
    with pytest.raises(ValidationFailed) as refused:
        district.update_street("Alpha", world.manager, now, {"code": "Beta"})
    assert set(refused.value.fields) == {"code"}  # an unknown field: the code names a street for good
    with pytest.raises(ValidationFailed) as refused:
        district.update_street("Alpha", world.manager, now, {"active": "no"})
    assert set(refused.value.fields) == {"active"}


def test_a_retired_street_keeps_its_buildings_and_takes_no_new_one(world: World) -> None:
    now = utcnow()
    district.update_street(world.street.code, world.manager, now, {"active": False})
    assert world.building.street_id == world.street.id and world.building.active
    with pytest.raises(ValidationFailed) as refused:
        district.create_building(world.manager, now, street=world.street.code, name="新楼")
    assert set(refused.value.fields) == {"street"}
    # a building already there may still be edited without moving it
    district.update_building(
        world.building.id, world.manager, now, {"street": world.street.code, "address": "新址"}
    )
    assert world.building.address == "新址"


def test_coverage_names_an_active_liaison_for_a_building_in_use(world: World) -> None:
    now = utcnow()
    retired = factories.building(world.street)
    retired.active = False
    gone = factories.liaison([])
    gone.active = False
    manager_not_liaison = world.manager
    for building, username, kind, field in (
        (retired.id, world.other_liaison.username, "deputy", "building"),
        (world.building.id, gone.username, "deputy", "liaison"),
        (world.building.id, manager_not_liaison.username, "deputy", "liaison"),
        (world.building.id, world.other_liaison.username, "boss", "kind"),
        (10**30, world.other_liaison.username, "deputy", "building"),
        ("1; drop", world.other_liaison.username, "deputy", "building"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            district.assign_coverage(world.manager, now, building=building, liaison=username, kind=kind)
        assert field in refused.value.fields


def test_one_primary_per_building_unless_replaced_and_the_history_kept(world: World) -> None:
    now = utcnow()
    with pytest.raises(Conflict):
        district.assign_coverage(
            world.manager,
            now,
            building=world.building.id,
            liaison=world.other_liaison.username,
            kind="primary",
        )
    later = now + timedelta(minutes=5)
    new = district.assign_coverage(
        world.manager,
        later,
        building=world.building.id,
        liaison=world.other_liaison.username,
        kind="primary",
        replace=True,
    )
    rows = district.coverage_history(world.building.id)
    assert rows[0] is new and rows[0].created_by_id == world.manager.id
    old = rows[1]
    assert (old.liaison_id, old.active, old.ended_at, old.ended_by_id) == (
        world.liaison.id,
        False,
        later,
        world.manager.id,
    )
    with pytest.raises(Conflict):
        district.end_coverage(old.id, world.manager, later)
    with pytest.raises(NotFound):
        district.end_coverage(2**63, world.manager, later)


def test_a_primary_demoted_to_deputy_on_the_same_building_is_one_active_coverage(world: World) -> None:
    now = utcnow()
    district.assign_coverage(
        world.manager, now, building=world.building.id, liaison=world.liaison.username, kind="deputy"
    )
    active = db.session.scalars(
        select(Coverage).where(Coverage.building_id == world.building.id, Coverage.active.is_(True))
    ).all()
    assert [(c.liaison_id, c.role) for c in active] == [(world.liaison.id, CoverageRole.DEPUTY)]


def test_the_board_shows_each_building_as_the_dashboard_counts_it(world: World) -> None:
    lonely = factories.building(world.street)
    deputy_only = factories.building(world.street)
    factories.liaison([deputy_only], role=CoverageRole.DEPUTY)
    today = local_date(utcnow())

    def states() -> dict[int, str]:
        return {row.building.id: row.state for row in district.coverage_board(world.street, today)}

    assert (states()[world.building.id], states()[lonely.id], states()[deputy_only.id]) == (
        "covered",
        "uncovered",
        "deputy_only",
    )
    # a primary on leave covers nothing today: its building is a gap here as on the dashboard
    world.liaison.leave_from = world.liaison.leave_until = today
    db.session.flush()
    assert states()[world.building.id] == "uncovered"
    from hotline.stats.queries import coverage

    assert world.building.id in {building_id for building_id, *_rest in coverage().gaps}


def test_moving_a_coverage_ends_it_and_starts_one_on_the_other_building(world: World) -> None:
    now = utcnow()
    target = factories.building(world.street)
    own = db.session.scalars(select(Coverage).where(Coverage.liaison_id == world.other_liaison.id)).one()
    moved = district.move_coverage(own.id, world.manager, now, {"building": target.id})
    assert (moved.building_id, moved.role, moved.active) == (target.id, own.role, True)
    assert own.active is False and own.ended_at == now
    with pytest.raises(ValidationFailed):
        district.move_coverage(moved.id, world.manager, now, {})
    assert db.session.get(Building, target.id) is target


def test_deactivating_a_liaison_ends_its_coverage_and_leaves_a_gap(world: World) -> None:
    from hotline.auth.services import set_user_active
    from hotline.stats.queries import coverage

    now = utcnow()
    set_user_active(world.other_liaison.id, False, world.admin, now)

    ended = db.session.scalars(select(Coverage).where(Coverage.liaison_id == world.other_liaison.id)).all()
    assert ended and all(
        not c.active and c.ended_at == now and c.ended_by_id == world.admin.id for c in ended
    )
    gaps = {building_id for building_id, _name, _street, _kind in coverage().gaps}
    assert {c.building_id for c in ended} <= gaps


def test_accounts_take_only_departments_in_use_and_a_new_email_voids_old_links(world: World) -> None:
    from hotline.auth import resets
    from hotline.auth.models import PasswordReset
    from hotline.auth.services import create_user, update_user

    now = utcnow()
    district.update_department(world.department.code, world.manager, now, {"active": False})
    with pytest.raises(ValidationFailed) as refused:
        create_user(
            username="newstaff",
            password="Quiet-Lantern-2026",
            name="新同事",
            role="department",
            department_code=world.department.code,
            actor=world.admin,
            now=now,
        )
    assert set(refused.value.fields) == {"department"}

    resets.issue_reset_link(world.liaison.username, world.admin, now)
    update_user(world.liaison.id, world.admin, now, email="moved@example.gov.cn")
    links = db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == world.liaison.id)).all()
    assert links and all(link.revoked_at == now for link in links)
