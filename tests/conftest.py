"""Fixtures: the application, its database, a test client, a small district, the login helpers.

One application and one database schema (in-memory SQLite) serve the whole test session.  Each test runs
in an app context of its own, inside an outer transaction on the database's one connection that is rolled
back when the test ends: the session is joined to it with ``join_transaction_mode="create_savepoint"``
(SQLAlchemy's "joining a Session into an external transaction"), so the code under test commits and rolls
back as it likes, each commit releasing a SAVEPOINT, and nothing outlives the test.  The configuration and
the extensions of the shared application are put back after each test, so a test may change them.

A test marked ``fresh_db`` gets what every test used to get instead: its own application and its own
database, really committed to.  That is for code that opens its own connection on ``db.engine`` or changes
how the application was set up (``FRESH_DB`` below names the tests that do it today).

The helpers (``test_config``, ``RequestClient``, ``csrf_token``, ``login``, ``post_form``) live in
``tests/helpers.py``; they are imported here too for the modules that still import them from here.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, Engine

from hotline import create_app
from hotline.extensions import db as _db
from tests import factories
from tests.helpers import CSRF_RE, RequestClient, csrf_token, login, post_form, test_config

__all__ = ["CSRF_RE", "RequestClient", "csrf_token", "login", "post_form", "test_config"]

FRESH_DB_MARKER = "fresh_db"
# Set this environment variable to check after every test that its rollback left every table empty.
CHECK_ROLLBACK = "HOTLINE_TEST_CHECK_ROLLBACK"

# Tests that get their own application and database, as (test file, fixture it uses).  Named here rather
# than marked in their modules.
FRESH_DB: list[tuple[str, str]] = [
    # ``broker`` installs the after-commit nudge with a fake publisher (``publisher.init_app``): the nudge
    # marks messages published through its own ``Session(bind=db.engine)``, a second connection that must
    # see what the test committed and commit on its own.
    ("tests/unit/test_outbox.py", "broker"),
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{FRESH_DB_MARKER}: the test gets its own application and database (real commits, no rollback)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        fixtures = getattr(item, "fixturenames", ())
        if any(path == file and fixture in fixtures for file, fixture in FRESH_DB):
            item.add_marker(FRESH_DB_MARKER)


# --------------------------------------------------------------------------- the shared application

# The open outer connection of the running test, by the engine it was taken from (see ``_get_bind``).
_OUTER: dict[Engine, Connection] = {}


def _enable_savepoints(engine: Engine) -> None:
    """SAVEPOINTs that work on pysqlite: the driver's own transaction handling off, SQLAlchemy's BEGIN.

    SQLAlchemy's SQLite documentation, "Enabling Non-Legacy SQLite Transactional Modes": without this the
    sqlite3 driver emits no BEGIN before a SAVEPOINT or a SELECT, and a rollback misses released savepoints.
    """

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def _shared_app() -> Iterator[Flask]:
    app = create_app(test_config())
    app.test_client_class = RequestClient
    with app.app_context():
        engine = _db.engine
    engine.dispose()  # the connect hook must see the pool's connection being made
    _enable_savepoints(engine)

    # Flask-SQLAlchemy's sessions always take the app's engine (they ignore a ``bind`` option); while a test
    # holds an outer connection on that engine, hand it that connection instead.
    session_class = _db.session.session_factory.class_
    flask_get_bind = session_class.get_bind

    def _get_bind(self: Any, *args: Any, **kwargs: Any) -> Any:
        bind = flask_get_bind(self, *args, **kwargs)
        return _OUTER.get(bind, bind)

    factory_options = dict(_db.session.session_factory.kw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(session_class, "get_bind", _get_bind)
        _db.session.session_factory.configure(join_transaction_mode="create_savepoint")
        with app.app_context():
            _db.create_all()
            _db.session.remove()
        try:
            yield app
        finally:
            _db.session.session_factory.kw.clear()
            _db.session.session_factory.kw.update(factory_options)
            with app.app_context():
                _db.session.remove()
                _db.drop_all()
            engine.dispose()


def _fresh_app() -> Iterator[Flask]:
    app = create_app(test_config())
    app.test_client_class = RequestClient
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()


def _rolled_back(app: Flask) -> Iterator[Flask]:
    """The shared app, in a new app context, its database changes undone at the end."""
    config = copy.deepcopy(dict(app.config))
    extensions = dict(app.extensions)
    celery = app.extensions["celery"]
    celery.set_default()  # as if just created: the task classes push this app's context
    celery.set_current()
    with app.app_context():
        engine = _db.engine
    connection = engine.connect()
    outer = connection.begin()
    _OUTER[engine] = connection
    left: dict[str, int] = {}
    try:
        with app.app_context():
            yield app
            _db.session.remove()
    finally:
        del _OUTER[engine]
        dbapi_connection = connection.connection.dbapi_connection
        leaked = dbapi_connection is not None and not dbapi_connection.in_transaction
        try:
            outer.rollback()
            if os.environ.get(CHECK_ROLLBACK):
                left = _rows_left(connection)
        finally:
            connection.close()
            if app.extensions != extensions:
                app.extensions.clear()
                app.extensions.update(extensions)
            if app.config != config:
                app.config.clear()
                app.config.update(config)
        if leaked or left:
            _empty_database(app)  # the next tests start from an empty database all the same
        if leaked:
            pytest.fail(
                "the code under test ended the test's outer transaction, so what it wrote outlived the test: "
                f"mark the test {FRESH_DB_MARKER} (tests/conftest.py, FRESH_DB)"
            )
        if left:
            pytest.fail(f"rows outlived the test's rollback: {left}")


def _empty_database(app: Flask) -> None:
    with app.app_context():
        _db.session.remove()
        _db.drop_all()
        _db.create_all()
        _db.session.remove()


@pytest.fixture
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    if request.node.get_closest_marker(FRESH_DB_MARKER):
        yield from _fresh_app()
    else:
        yield from _rolled_back(request.getfixturevalue("_shared_app"))


@pytest.fixture
def db(app: Flask):  # type: ignore[no-untyped-def]
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask) -> factories.World:
    w = factories.World()
    _db.session.commit()
    return w


def _rows_left(connection: Connection) -> dict[str, int]:
    """The tables that still hold rows (none should, once a test's transaction is rolled back)."""
    counts = {
        table.name: connection.scalar(select(func.count()).select_from(table))
        for table in _db.metadata.sorted_tables
    }
    connection.rollback()
    return {name: n for name, n in counts.items() if n}


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> Iterator[None]:
    """Failed attempts from the test client's one address must not add up across the session."""
    from hotline.extensions import limiter

    if limiter.initialized:
        # The process has one limiter, set up by the last application created: after an integration test
        # that may be a private Redis that is gone, which has no counts to forget.
        with contextlib.suppress(Exception):
            limiter.reset()
    yield
