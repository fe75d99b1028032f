"""The database out of reach (issue 8, point 6): every page and API call answers 503 with ``Retry-After``,
a short page in the house style or the API's error body, and one warning line in the log, never a stack
trace; a wrong statement stays a 500; when the database is back, the next request works.

No test here uses the shared application or its database: each builds its own.  ``unreachable`` points at
a PostgreSQL port nothing listens on, so every connection is refused at once by the real driver; ``file_db``
is an SQLite file of its own that is made unreachable for a while (its folder moved away, or another
connection holding it locked past the busy timeout) and then given back.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from werkzeug.test import TestResponse

from hotline import create_app
from hotline.auth.models import Role
from hotline.errors import RETRY_AFTER_SECONDS, is_connection_failure
from hotline.extensions import db
from tests import factories
from tests.helpers import RequestClient, csrf_token, login, test_config

API = "/api/v1"
# Nothing listens on port 1: the connection is refused at once (connect_timeout bounds it anyway).
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/hotline"
UNAVAILABLE_EN = "The service is briefly unavailable. Please try again in a moment."
SOME_SESSION_KEY = "a-session-key-the-database-would-know"


def _app(**overrides: object) -> Flask:
    app = create_app(test_config(**overrides))
    app.test_client_class = RequestClient
    return app


@pytest.fixture
def unreachable() -> Iterator[Flask]:
    app = _app(
        SQLALCHEMY_DATABASE_URI=UNREACHABLE,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}},
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@dataclass
class FileDatabase:
    app: Flask
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "hotline.sqlite3"

    @contextmanager
    def moved_away(self) -> Iterator[None]:
        """The database cannot be opened: its pooled connections are gone and its folder is elsewhere."""
        with self.app.app_context():
            db.engine.dispose()
        away = self.folder.with_name("elsewhere")
        self.folder.rename(away)
        try:
            yield
        finally:
            away.rename(self.folder)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Another connection holds the file locked for longer than the application's busy timeout.

        In WAL mode (hotline/db.py) a writer's lock does not keep readers out: the other connection takes the
        file in exclusive locking mode, which does (a backup tool or a restore would)."""
        with self.app.app_context():
            db.engine.dispose()  # idle pooled connections share the WAL: lock while none is open
        other = sqlite3.connect(self.path, isolation_level=None)
        try:
            other.execute("PRAGMA locking_mode = EXCLUSIVE")
            other.execute("BEGIN EXCLUSIVE")
            yield
            other.execute("ROLLBACK")
        finally:
            other.close()


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[FileDatabase]:
    folder = tmp_path / "data"
    folder.mkdir()
    database = FileDatabase(
        _app(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'hotline.sqlite3'}",
            # as in production (pool_pre_ping), with a short busy timeout
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"timeout": 0.2}},
        ),
        folder,
    )
    with database.app.app_context():
        db.create_all()
        factories.user(Role.MANAGER, username="manager")
        db.session.commit()
    yield database
    with database.app.app_context():
        db.engine.dispose()


def assert_unavailable_page(response: TestResponse) -> str:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'class="site-header"' in html  # the house frame (base.html) …
    assert '<div class="error-code">503</div>' in html  # … around the short error page
    assert "Traceback" not in html
    return html


def assert_unavailable_json(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["message"]
    assert body["error"]["fields"] == {}
    return body


def assert_one_warning_per_request(caplog: pytest.LogCaptureFixture, requests: int) -> None:
    warnings = [r for r in caplog.records if r.name == "hotline.errors"]
    assert len(warnings) == requests, [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.WARNING and "answered 503" in r.getMessage() for r in warnings)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def log_in_by_session(client: FlaskClient) -> None:
    """A browser that holds a session cookie (the database that would know its key is out of reach)."""
    with client.session_transaction() as session:
        session["_user_id"] = SOME_SESSION_KEY


# --------------------------------------------------------------------------- PostgreSQL refuses connections


@pytest.mark.parametrize("path", ["/register", "/public/summary"])
def test_a_page_answers_503_with_retry_after_and_one_warning(
    unreachable: Flask, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.WARNING):
        html = assert_unavailable_page(unreachable.test_client().get(f"{path}?lang=en"))
    assert f'<h1 class="h4 mb-3">{UNAVAILABLE_EN}</h1>' in html
    assert_one_warning_per_request(caplog, 1)
    assert "Connection refused" in caplog.records[-1].getMessage()


def test_logging_in_answers_503(unreachable: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = unreachable.test_client()
    page = client.get("/login")  # the form itself needs no database
    assert page.status_code == 200
    with caplog.at_level(logging.WARNING):
        response = client.post(
            "/login",
            data={
                "username": "manager",
                "password": factories.PASSWORD,
                "csrf_token": csrf_token(page.get_data(as_text=True)),
            },
        )
    assert_unavailable_page(response)
    assert_one_warning_per_request(caplog, 1)


@pytest.mark.parametrize("path", ["/account", "/", "/login"])
def test_a_logged_in_page_answers_503_when_the_user_cannot_be_loaded(
    unreachable: Flask, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """The user loader's query is the first to fail; the 503 page is drawn as for a visitor."""
    client = unreachable.test_client()
    log_in_by_session(client)
    with caplog.at_level(logging.WARNING):
        html = assert_unavailable_page(client.get(path))
    assert 'href="/login"' in html  # no user in the frame, and no second failure drawing it
    assert_one_warning_per_request(caplog, 1)
    with client.session_transaction() as session:
        assert session["_user_id"] == SOME_SESSION_KEY  # still logged in for when the database is back


@pytest.mark.parametrize("first_asked_by", ["the page's frame", "a before_request hook"])
def test_the_user_first_asked_for_in_a_template_or_a_hook_answers_503(
    unreachable: Flask, first_asked_by: str
) -> None:
    if first_asked_by == "a before_request hook":

        @unreachable.before_request
        def ask_for_the_user() -> None:
            current_user.is_authenticated  # noqa: B018  (the access is the point: it runs the user loader)

    # a page whose view asks for neither the database nor the user: only its frame (base.html) does
    unreachable.add_url_rule("/frame", "frame", lambda: render_template("pages/home.html"))
    client = unreachable.test_client()
    log_in_by_session(client)
    assert_unavailable_page(client.get("/frame"))


def test_the_api_answers_503_in_its_error_shape(unreachable: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = unreachable.test_client()
    with caplog.at_level(logging.WARNING):
        tokens = client.post(
            f"{API}/tokens",
            json={"username": "manager", "password": factories.PASSWORD},
            headers={"Accept-Language": "en"},
        )
        tickets = client.get(f"{API}/tickets", headers={"Authorization": "Bearer some-token"})
    assert assert_unavailable_json(tokens)["error"]["message"] == UNAVAILABLE_EN
    assert_unavailable_json(tickets)
    assert_one_warning_per_request(caplog, 2)


# --------------------------------------------------------------------------- what is not an outage


def _raise(error: Exception) -> Callable[[], str]:
    def view() -> str:
        raise error

    return view


def _execute(sql: str) -> Callable[[], str]:
    def view() -> str:
        db.session.execute(text(sql))
        return "not reached"

    return view


@pytest.mark.parametrize(
    "view",
    [
        _raise(ProgrammingError("SELEC 1", {}, Exception('syntax error at or near "SELEC"'))),
        _execute("SELEC 1"),  # SQLite says OperationalError: … syntax error
        _execute("SELECT * FROM no_such_table"),  # SQLite says OperationalError: no such table
    ],
    ids=["programming-error", "sqlite-syntax-error", "sqlite-no-such-table"],
)
def test_a_wrong_statement_is_still_a_500_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture, view: Callable[[], str]
) -> None:
    app = _app(PROPAGATE_EXCEPTIONS=False)  # answered as in production, not raised into the test
    app.add_url_rule("/wrong", "wrong", view)
    app.add_url_rule(f"{API}/wrong", "api_wrong", view)
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        page = client.get("/wrong")
        call = client.get(f"{API}/wrong")
    assert page.status_code == 500
    assert '<div class="error-code">500</div>' in page.get_data(as_text=True)
    assert call.status_code == 500
    assert call.get_json()["error"]["code"] == "error"
    assert "Retry-After" not in page.headers and "Retry-After" not in call.headers
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and all(r.exc_info for r in errors)
    assert not [r for r in caplog.records if r.name == "hotline.errors"]


def _wrapped(origin: BaseException, invalidated: bool = False) -> DBAPIError:
    return OperationalError("SELECT 1", {}, origin, connection_invalidated=invalidated)


def _sqlite_error(database: str, sql: str = "SELECT 1") -> sqlite3.Error:
    """The error the driver itself raises (with its result code) running ``sql`` on ``database``."""
    try:
        with closing(sqlite3.connect(database)) as connection:
            connection.execute(sql)
    except sqlite3.Error as error:
        return error
    raise AssertionError(f"{sql!r} on {database!r} ran")


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (_wrapped(psycopg.OperationalError("connection failed: Connection refused")), True),
        (_wrapped(psycopg.OperationalError("connection timeout expired")), True),
        (_wrapped(psycopg.errors.ConnectionFailure("connection failure")), True),
        (_wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
        (_wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")), True),
        (_wrapped(psycopg.errors.TooManyConnections("too many clients already")), True),
        (_wrapped(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")), False),
        # a lock held past lock_timeout: "busy, try again" (503), as SQLite's busy below
        (_wrapped(psycopg.errors.LockNotAvailable("could not obtain lock")), True),
        (_wrapped(psycopg.errors.InvalidPassword("password authentication failed")), False),
        (_wrapped(_sqlite_error("/nonexistent-folder/hotline.sqlite3")), True),  # unable to open
        (_wrapped(_sqlite_error(":memory:", "SELECT * FROM ticket")), False),  # no such table
        (_wrapped(_sqlite_error(":memory:", "SELEC 1")), False),  # syntax error
        (ProgrammingError("SELECT 1", {}, Exception("Cannot operate on a closed database.")), False),
        (
            ProgrammingError(
                "SELECT 1", {}, Exception("Cannot operate on a closed database."), connection_invalidated=True
            ),
            True,
        ),
    ],
    ids=lambda value: None if isinstance(value, bool) else type(getattr(value, "orig", value)).__name__,
)
def test_connection_failures_are_told_apart_from_other_database_errors(
    error: DBAPIError, outage: bool
) -> None:
    assert is_connection_failure(error) is outage


def test_a_rollback_that_fails_too_is_still_a_503(
    file_db: FileDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection died under the request: rolling back fails as well, and the answer stays the 503."""

    def view() -> str:
        db.session.execute(text("SELECT 1"))  # a transaction is open on a pooled connection
        raise _wrapped(psycopg.errors.AdminShutdown("terminating connection"), invalidated=True)

    def rollback() -> None:
        raise _wrapped(psycopg.OperationalError("the connection is closed"), invalidated=True)

    file_db.app.add_url_rule("/dies", "dies", view)
    with monkeypatch.context() as patch:
        patch.setattr(db.session, "rollback", rollback)
        assert_unavailable_page(file_db.app.test_client().get("/dies"))
    assert file_db.app.test_client().get("/public/summary").status_code == 200


# --------------------------------------------------------------------------- outage, then recovery


def test_after_the_outage_the_next_request_succeeds(file_db: FileDatabase) -> None:
    client = file_db.app.test_client()
    login(client, "manager")
    token = client.post(f"{API}/tokens", json={"username": "manager", "password": factories.PASSWORD})
    assert token.status_code == 201
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
    assert client.get("/account").status_code == 200

    with file_db.moved_away():
        assert_unavailable_page(client.get("/account"))
        assert_unavailable_page(client.get("/public/summary"))
        assert_unavailable_json(client.get(f"{API}/tickets", headers=bearer))

    account = client.get("/account")  # no restart: the pool connects again
    assert account.status_code == 200
    assert re.search(r"user-badge[^>]*>[^<]*manager", account.get_data(as_text=True))  # still logged in
    assert client.get(f"{API}/tickets", headers=bearer).status_code == 200


def test_a_database_locked_past_the_busy_timeout_answers_503_until_it_is_free(
    file_db: FileDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    client = file_db.app.test_client()
    with caplog.at_level(logging.WARNING), file_db.locked():
        assert_unavailable_page(client.get("/public/summary"))
    assert_one_warning_per_request(caplog, 1)
    assert "database is locked" in caplog.records[-1].getMessage()
    assert client.get("/public/summary").status_code == 200
