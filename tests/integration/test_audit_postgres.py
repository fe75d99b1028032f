"""The audit log on PostgreSQL (issue 11, point 6): in a database built by the migrations, as production's
is, its table refuses UPDATE and DELETE (revision 0015's triggers), from SQL and from the ORM, naming the
table; appending goes on; the search (ILIKE with escapes, local days) answers on PostgreSQL too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from hotline import create_app
from hotline.audit import services as audit
from hotline.audit.models import AuditAction, AuditEntry
from hotline.auth.models import Role
from hotline.extensions import db
from tests import factories
from tests.helpers import test_config as make_config
from tests.integration.conftest import new_postgres_database

pytestmark = pytest.mark.postgres

AT = datetime(2026, 5, 2, 15, 30, tzinfo=UTC)  # 23:30 on 2 May in Shanghai


@pytest.fixture
def migrated() -> Iterator[Flask]:
    with new_postgres_database("hotline_audit") as url:
        app = create_app(make_config(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={}))
        with app.app_context():
            try:
                flask_migrate.upgrade()
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def _stored() -> list[tuple[object, ...]]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT * FROM audit_entries ORDER BY id"))]


def test_the_audit_log_is_append_only_on_postgres(migrated: Flask) -> None:
    admin = factories.user(Role.ADMIN)
    audit.record(
        admin, AuditAction.CATEGORY_CLOCKS_SET, "approval_50%", {"changes": {"resolve_days": [5, 7]}}, AT
    )
    audit.record(None, AuditAction.CALENDAR_SYNCED, "2027", {"years": [2027]}, AT)
    db.session.commit()
    before = _stored()
    assert len(before) >= 2
    for statement in (
        f"UPDATE audit_entries SET target = 'changed' WHERE id = {before[0][0]}",
        "UPDATE audit_entries SET created_at = created_at",
        f"DELETE FROM audit_entries WHERE id = {before[-1][0]}",
        "DELETE FROM audit_entries",
    ):
        with pytest.raises(ProgrammingError) as refused, db.engine.begin() as connection:
            connection.execute(text(statement))
        assert "audit_entries is append-only" in str(refused.value.orig), statement
        assert refused.value.orig.sqlstate == "P0001", statement
        assert _stored() == before, statement

    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id).limit(1)).one()
    entry.target = "changed"
    with pytest.raises(DBAPIError, match="audit_entries is append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(DBAPIError, match="audit_entries is append-only"):
        db.session.commit()
    db.session.rollback()
    assert _stored() == before

    audit.record(admin, AuditAction.USER_CREATED, "new.one", {"role": "manager"}, AT)
    db.session.commit()
    assert len(_stored()) == len(before) + 1

    def targets(**criteria: object) -> list[str]:
        query = audit.search(audit.AuditSearch(**criteria), admin)  # type: ignore[arg-type]
        return [entry.target for entry in db.session.scalars(query)]

    assert "approval_50%" in targets(target="50%")
    assert targets(target="a_p") == []  # an underscore is a character, not a wildcard ("app")
    assert set(targets(start=date(2026, 5, 2), end=date(2026, 5, 2))) == {"approval_50%", "2027", "new.one"}
    assert targets(end=date(2026, 5, 1)) == []


def test_follow_up_calls_are_append_only_on_postgres(migrated: Flask) -> None:
    """Revision 0018's triggers: a follow-up call, once recorded, is neither changed nor deleted."""
    from datetime import timedelta

    from hotline.followup import services as followup

    world = factories.World()
    ticket = world.resolved(AT)
    followup.record_unanswered_call(ticket.id, world.manager, "", "无人接听", AT + timedelta(days=10))
    db.session.commit()
    for statement in ("UPDATE followup_calls SET reached = true", "DELETE FROM followup_calls"):
        with pytest.raises(ProgrammingError) as refused, db.engine.begin() as connection:
            connection.execute(text(statement))
        assert "followup_calls is append-only" in str(refused.value.orig), statement
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT reached, comment FROM followup_calls")).all()
    assert [tuple(row) for row in rows] == [(False, "无人接听")]
