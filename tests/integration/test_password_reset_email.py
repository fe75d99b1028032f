"""A password reset link asked for on the page, e-mailed by the worker's task to a real local SMTP server
(aiosmtpd) from a PostgreSQL database, in the user's language, and used once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from hotline import create_app
from hotline.auth import resets, tasks
from hotline.extensions import db
from hotline.outbox.models import OutboxMessage
from tests.factories import World
from tests.helpers import RequestClient, post_form
from tests.helpers import test_config as make_config
from tests.integration.conftest import free_port
from tests.integration.test_email import Collector

BASE_URL = "https://hotline.example.gov.cn"
NEW_PASSWORD = "Lantern-Orchard-58"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Collector]]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, collector
    finally:
        controller.stop()


@pytest.fixture
def pg_app(pg_database: str, smtp: tuple[int, Collector]) -> Iterator[Flask]:
    config = make_config(
        SQLALCHEMY_DATABASE_URI=pg_database,
        SQLALCHEMY_ENGINE_OPTIONS={},
        SERVER_NAME=None,
        PUBLIC_BASE_URL=BASE_URL,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp[0],
        MAIL_FROM="企呼我应 <noreply@hotline.example.gov.cn>",
        MAIL_TIMEOUT=2.0,
        RATELIMIT_ENABLED=False,
    )
    app = create_app(config)
    app.test_client_class = RequestClient
    with app.app_context():
        db.create_all()
        try:
            yield app
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_the_emailed_link_sets_the_password_once(pg_app: Flask, smtp: tuple[int, Collector]) -> None:
    _port, collector = smtp
    world = World()
    world.contact.email = "contact@example.com"
    world.contact.locale = "en"
    db.session.commit()
    username = world.contact.username

    client = pg_app.test_client()
    assert post_form(client, "/password-reset", "/password-reset", {"account": username}).status_code == 302
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == resets.SEND_PASSWORD_RESET)
    ).one()
    tasks.send_password_reset(message.payload["reset_id"], message.payload["seed"])  # what the worker runs
    tasks.send_password_reset(message.payload["reset_id"], message.payload["seed"])  # delivered twice
    [received] = collector.messages
    assert received.recipients == ["contact@example.com"]
    assert "Set a new password" in received.message["Subject"]
    plain = received.message.get_body(("plain",))
    assert plain is not None
    match = re.search(re.escape(BASE_URL) + r"(/password-reset/[A-Za-z0-9_-]+)", plain.get_content())
    assert match
    path = match.group(1)
    assert (
        post_form(client, path, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    )
    assert client.get(path).status_code == 404
    assert (
        client.post("/api/v1/tokens", json={"username": username, "password": NEW_PASSWORD}).status_code
        == 201
    )
