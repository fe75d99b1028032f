"""Frozen reports on PostgreSQL (issue 11, point 5), in a database built by the migrations: the public
summary's year is found by the query itself — whole calendar years frozen after they ended, the local day of
``as_of`` computed by PostgreSQL — behind any number of later reports."""

from __future__ import annotations

from collections.abc import Iterator

import flask_migrate
import pytest
from flask import Flask

from hotline import create_app
from hotline.extensions import db
from tests import factories
from tests.helpers import test_config as make_config
from tests.integration.conftest import new_postgres_database
from tests.unit.test_reports import published_year_behind_later_reports

pytestmark = pytest.mark.postgres


@pytest.fixture
def migrated() -> Iterator[Flask]:
    with new_postgres_database("hotline_reports") as url:
        app = create_app(make_config(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={}))
        with app.app_context():
            try:
                flask_migrate.upgrade()
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def test_the_published_year_is_found_behind_more_than_fifty_later_reports_on_postgres(
    migrated: Flask,
) -> None:
    world = factories.World()
    db.session.commit()
    published_year_behind_later_reports(world)
    db.session.commit()
