"""The audit log (issue 11, point 6): each audited change writes one entry, with who, what and the details;
a refused change writes none; the table is append-only on SQLite (PostgreSQL:
tests/integration/test_audit_postgres.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from hotline.audit import services as audit
from hotline.audit.models import AuditAction, AuditEntry
from hotline.auth import resets
from hotline.auth import services as accounts
from hotline.auth.models import Role
from hotline.district import services as district
from hotline.errors import Forbidden, ValidationFailed
from hotline.extensions import db
from hotline.imports import services as imports
from hotline.imports.models import ImportKind
from hotline.sla import services as sla
from tests import factories
from tests.factories import World

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
PASSWORD = "Lantern-Orchard-58"


@pytest.fixture
def year_2026(app: Any) -> None:
    sla.sync_calendar_from_package(T0, years=[2026])
    db.session.commit()


def entries(action: AuditAction | None = None) -> list[AuditEntry]:
    """The entries since T0 (the factories' accounts are created, and recorded, at the present time)."""
    query = select(AuditEntry).where(AuditEntry.created_at <= T0).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action.value)
    return list(db.session.scalars(query))


def only(action: AuditAction) -> AuditEntry:
    found = entries(action)
    assert len(found) == 1, [(e.action, e.target) for e in entries()]
    return found[0]


def test_accounts_created_changed_deactivated_and_reset_links_are_recorded(world: World) -> None:
    before = len(entries())
    user = accounts.create_user(
        username="clerk9", password=PASSWORD, name="李文", role="manager", actor=world.admin, now=T0
    )
    created = only(AuditAction.USER_CREATED)
    assert (created.actor_username, created.actor_role, created.target) == (
        world.admin.username,
        "admin",
        "clerk9",
    )
    assert created.details["role"] == "manager" and created.created_at == T0

    accounts.update_user(user.id, world.admin, T0, name="李文华", role="liaison")
    changed = only(AuditAction.USER_UPDATED)
    assert changed.details["changes"] == {"name": ["李文", "李文华"], "role": ["manager", "liaison"]}
    accounts.update_user(user.id, world.admin, T0, name="李文华")  # nothing changes: nothing recorded
    assert len(entries(AuditAction.USER_UPDATED)) == 1

    accounts.set_user_active(user.id, False, world.admin, T0)
    accounts.set_user_active(user.id, False, world.admin, T0)  # already so: once
    assert only(AuditAction.USER_DEACTIVATED).target == "clerk9"
    accounts.set_user_active(user.id, True, world.admin, T0)
    assert only(AuditAction.USER_ACTIVATED).target == "clerk9"

    resets.issue_reset_link("clerk9", world.admin, T0)
    issued = only(AuditAction.RESET_LINK_ISSUED)
    assert issued.target == "clerk9" and "expires_at" in issued.details
    assert len(entries()) == before + 5


def test_a_refused_change_records_nothing(world: World) -> None:
    before = len(entries())
    with pytest.raises(ValidationFailed):
        accounts.create_user(
            username="x y", password="short", name="", role="manager", actor=world.admin, now=T0
        )
    with pytest.raises(Forbidden):
        sla.set_day(date(2026, 5, 6), False, "", world.liaison, T0)
    assert len(entries()) == before


def test_the_calendar_and_category_clocks_are_recorded(world: World, year_2026: Any) -> None:
    synced = len(entries(AuditAction.CALENDAR_SYNCED))
    sla.set_day(date(2026, 5, 6), False, "楼宇停电", world.manager, T0)
    day = only(AuditAction.CALENDAR_DAY_SET)
    assert (day.target, day.details, day.actor_id) == (
        "2026-05-06",
        {"is_workday": False, "note": "楼宇停电"},
        world.manager.id,
    )
    sla.enter_year(2027, world.manager, T0)
    year = only(AuditAction.CALENDAR_YEAR_ENTERED)
    assert (year.target, year.details) == ("2027", {"source": "weekday"})
    assert len(entries(AuditAction.CALENDAR_SYNCED)) == synced  # entering a year is one entry

    category = world.category
    old = category.resolve_days
    sla.set_category_clocks(category.id, category.acknowledge_minutes, 30, old + 2, 1, world.manager, T0)
    clocks = only(AuditAction.CATEGORY_CLOCKS_SET)
    assert clocks.target == category.code
    assert clocks.details["changes"]["resolve_days"] == [old, old + 2]


def test_the_package_sync_is_recorded_when_it_loads_a_year(app: Any) -> None:
    loaded = sla.sync_calendar_from_package(T0, years=[2025])
    assert loaded == [2025]
    synced = only(AuditAction.CALENDAR_SYNCED)
    assert (synced.actor_id, synced.actor_name, synced.details) == (None, "", {"years": [2025]})
    assert sla.sync_calendar_from_package(T0, years=[2025]) == []  # already there: nothing written
    assert len(entries(AuditAction.CALENDAR_SYNCED)) == 1


def test_coverage_assigned_ended_and_moved_once_each(world: World) -> None:
    newcomer = factories.liaison([])
    other = factories.building(world.street)
    coverage = district.assign_coverage(
        world.manager, T0, building=world.building.id, liaison=newcomer.username, kind="deputy"
    )
    assigned = only(AuditAction.COVERAGE_ASSIGNED)
    assert assigned.details["liaison"] == newcomer.username and assigned.details["kind"] == "deputy"
    assert newcomer.username in assigned.target and world.building.name in assigned.target

    moved = district.move_coverage(coverage.id, world.manager, T0, {"building": other.id})
    entry = only(AuditAction.COVERAGE_MOVED)
    assert entry.details["from"]["building_id"] == world.building.id
    assert entry.details["to"]["building_id"] == other.id
    assert len(entries(AuditAction.COVERAGE_ASSIGNED)) == 1  # the move is one entry, not an assignment too

    district.end_coverage(moved.id, world.manager, T0)
    assert only(AuditAction.COVERAGE_ENDED).details["coverage_id"] == moved.id


def test_an_applied_import_is_one_entry_with_its_counts(world: World) -> None:
    content = f"街道,楼宇名称,地址\n{world.street.name},新楼A,一号\n{world.street.name},新楼B,二号\n"
    kept, _report = imports.upload(ImportKind.BUILDINGS, "楼宇.csv", content.encode(), world.manager, T0)
    assert entries(AuditAction.IMPORT_APPLIED) == []  # a dry run is not a change
    imports.apply(kept.id, world.manager, T0)
    applied = only(AuditAction.IMPORT_APPLIED)
    assert applied.target == "楼宇.csv"
    assert applied.details["kind"] == "buildings" and applied.details["counts"]["create"] == 2


def test_entries_are_searched_by_actor_action_target_and_days(world: World) -> None:
    audit.record(world.admin, AuditAction.USER_CREATED, "alpha", {}, datetime(2026, 3, 1, 3, tzinfo=UTC))
    audit.record(
        world.manager, AuditAction.CALENDAR_DAY_SET, "2026-05-06", {}, datetime(2026, 3, 2, 3, tzinfo=UTC)
    )
    # 23:30 in Shanghai on 2 March is 15:30 UTC: still the 2nd locally
    audit.record(
        world.manager, AuditAction.EXPORT_DOWNLOADED, "50%_x", {}, datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    )

    def targets(**criteria: Any) -> list[str]:
        query = audit.search(audit.AuditSearch(**criteria), world.admin)
        return [entry.target for entry in db.session.scalars(query)]

    assert targets(actor=world.manager.username) == ["50%_x", "2026-05-06"]
    assert targets(actor=world.admin.name) == ["alpha"]
    assert targets(action="user_created", end=date(2026, 3, 31)) == ["alpha"]
    assert targets(target="05-0") == ["2026-05-06"]
    assert targets(target="%") == ["50%_x"]  # a literal %, not a wildcard
    assert targets(start=date(2026, 3, 2), end=date(2026, 3, 2)) == ["50%_x", "2026-05-06"]
    assert targets(end=date(2026, 3, 1)) == ["alpha"]
    assert targets(actor="\x00", end=date(2026, 3, 31)) == [
        "50%_x",
        "2026-05-06",
        "alpha",
    ]  # ignored, never a database error
    with pytest.raises(Forbidden):
        audit.search(audit.AuditSearch(), world.liaison)


def test_the_table_refuses_update_and_delete_on_sqlite(world: World) -> None:
    entry = audit.record(world.admin, AuditAction.USER_CREATED, "alpha", {"role": "manager"}, T0)
    db.session.commit()
    for statement in (
        f"UPDATE audit_entries SET target = 'changed' WHERE id = {entry.id}",
        f"DELETE FROM audit_entries WHERE id = {entry.id}",
    ):
        with pytest.raises(IntegrityError, match="audit_entries is append-only"), db.session.begin_nested():
            db.session.execute(text(statement))
    assert db.session.scalar(select(AuditEntry.target).where(AuditEntry.id == entry.id)) == "alpha"
    assert factories.user(Role.ADMIN) is not None  # and inserting goes on
