"""The reply templates' services: who may keep, share, change and archive which (issue 13, point 5)."""

from __future__ import annotations

import pytest

from hotline.auth.models import Role
from hotline.db import utcnow
from hotline.errors import Forbidden, NotFound, ValidationFailed
from hotline.replies import queries, services
from tests import factories
from tests.factories import World


def test_shared_templates_are_made_by_managers_and_changed_by_any_manager(world: World) -> None:
    now = utcnow()
    with pytest.raises(Forbidden):
        services.create_template(world.liaison, now, title="t", body="b", shared=True)
    with pytest.raises(Forbidden):
        services.create_template(world.contact, now, title="t", body="b")
    shared = services.create_template(world.manager, now, title="统一", body="b", shared=True)
    another_manager = factories.user(Role.MANAGER)
    services.update_template(shared.id, another_manager, now, title="统一二", body="b", shared=True)
    assert shared.title == "统一二"
    with pytest.raises(Forbidden):
        services.archive_template(shared.id, world.liaison, now)
    services.archive_template(shared.id, another_manager, now)
    with pytest.raises(NotFound):  # archived: gone for everyone
        queries.get_visible_template(world.manager, shared.id)


def test_a_personal_template_is_its_owners_even_for_a_manager(world: World) -> None:
    now = utcnow()
    mine = services.create_template(world.liaison, now, title="我的", body="b")
    with pytest.raises(NotFound):
        services.update_template(mine.id, world.manager, now, title="x", body="y")
    with pytest.raises(Forbidden):  # a liaison cannot share its own either
        services.update_template(mine.id, world.liaison, now, title="x", body="y", shared=True)
    assert mine.title == "我的"


def test_every_field_is_checked_at_once(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        services.create_template(
            world.liaison, utcnow(), title="x" * 101, body=None, category="nope", shared="yes"
        )
    assert set(refused.value.fields) == {"title", "body", "category", "shared"}
