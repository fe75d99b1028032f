"""Personal answers are never stored by a cache (Cache-Control: no-store); static assets may be."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests import factories
from tests.factories import World
from tests.helpers import login


def test_a_logged_in_page_is_not_stored(client: FlaskClient, world: World) -> None:
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(client, world.contact.username)
    page = client.get("/portal/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/hotline.css")
    static.close()  # a file response: close it, or the open file is a warning (an error here)
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_api_answers_are_not_stored_but_the_document_may_be(client: FlaskClient, world: World) -> None:
    token = client.post(
        "/api/v1/tokens", json={"username": world.contact.username, "password": factories.PASSWORD}
    )
    assert token.status_code == 201 and token.headers["Cache-Control"] == "no-store"
    listing = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    refused = client.get("/api/v1/tickets")
    assert refused.status_code == 401 and refused.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/api/v1/openapi.json").headers.get("Cache-Control", "")
