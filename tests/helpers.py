"""Helpers for the tests: the test configuration, a test client with a fresh ``flask.g``, forms and logins.

The fixtures built on them live in ``tests/conftest.py``; import the helpers from here.
"""

from __future__ import annotations

import re

from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy.pool import StaticPool

from tests import factories

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def test_config(**overrides: object) -> dict[str, object]:
    config: dict[str, object] = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}},
        "PASSWORD_HASH_FAST": True,
        "SERVER_NAME": "localhost",
        "OUTBOX_NUDGE": False,  # no broker in unit tests: the outbox rows stay pending
    }
    config.update(overrides)
    return config


test_config.__test__ = False  # type: ignore[attr-defined]  # not a test, even when imported into a test module


class RequestClient(FlaskClient):
    """A test client whose every request starts with an empty ``flask.g``.

    The ``app`` fixture keeps one application context open for the whole test, and Flask reuses an open
    context of the same app for each request, so ``g`` would otherwise outlive a request: Flask-Login's
    cached current user, Flask-WTF's CSRF token and Flask-Babel's locale would leak from one request,
    and one client, into the next.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if has_app_context():
            vars(g._get_current_object()).clear()
        return super().open(*args, **kwargs)


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = factories.PASSWORD) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def post_form(client: FlaskClient, page_url: str, action_url: str, data: dict[str, object]):  # type: ignore[no-untyped-def]
    """GET the page holding the form (for its CSRF token), then POST the form to ``action_url``."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    payload = dict(data)
    payload["csrf_token"] = csrf_token(page.get_data(as_text=True))
    return client.post(action_url, data=payload)
