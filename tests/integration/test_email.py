"""Notification emails delivered to a real local SMTP server (aiosmtpd), from a PostgreSQL database.

Each recipient gets one multipart (text + HTML) message in their own language; a second delivery of the same
notification sends nothing; a refused connection or a server that never answers raises (the task retries)
and leaves the email pending; an address the server refuses for good is marked failed, not retried.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from hotline import create_app
from hotline.extensions import db
from hotline.notifications.email import send_notification_email
from hotline.notifications.models import Notification
from hotline.tickets import services as tickets
from tests.factories import World
from tests.helpers import test_config as make_config
from tests.integration.conftest import free_port

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SENT_AT = NOW + timedelta(minutes=1)
BASE_URL = "https://hotline.example.gov.cn"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    messages: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Collector]]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


@pytest.fixture
def pg_app(pg_database: str) -> Iterator[Flask]:
    """The app on this module's PostgreSQL database, as a worker sees it (no SERVER_NAME)."""
    config = make_config(
        SQLALCHEMY_DATABASE_URI=pg_database,
        SQLALCHEMY_ENGINE_OPTIONS={},
        SERVER_NAME=None,
        PUBLIC_BASE_URL=BASE_URL,
        MAIL_FROM="企呼我应 <noreply@hotline.example.gov.cn>",
        MAIL_TIMEOUT=2.0,
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
        try:
            yield app
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@dataclass
class Story:
    """A request assigned to a Chinese-speaking liaison and resolved for an English-speaking contact."""

    number: str
    liaison_notification: int
    contact_notification: int


@pytest.fixture
def story(pg_app: Flask) -> Story:
    world = World()
    world.liaison.email = "liaison@example.gov.cn"  # no locale chosen: the default, Chinese
    world.contact.email = "contact@example.com"
    world.contact.locale = "en"
    ticket = world.in_progress(NOW)
    tickets.resolve(ticket.id, world.liaison, "已协调周边停车场提供月租车位。", NOW)
    db.session.commit()
    by_user = {
        n.user_id: n.id
        for n in db.session.scalars(select(Notification).where(Notification.email_state == "pending"))
    }
    assert set(by_user) == {world.liaison.id, world.contact.id}
    return Story(ticket.number, by_user[world.liaison.id], by_user[world.contact.id])


def send(notification_id: int) -> bool:
    """What the worker task does: call, commit once, roll back on error."""
    try:
        sent = send_notification_email(notification_id, SENT_AT)
        db.session.commit()
        return sent
    except Exception:
        db.session.rollback()
        raise


def state(notification_id: int) -> tuple[str | None, datetime | None]:
    db.session.expire_all()
    row = db.session.get(Notification, notification_id)
    assert row is not None
    return row.email_state, row.emailed_at


def bodies(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}  # type: ignore[attr-defined]


def test_each_recipient_gets_one_email_in_their_language(
    pg_app: Flask, story: Story, smtp: tuple[Controller, Collector]
) -> None:
    controller, collector = smtp
    pg_app.config.update(MAIL_SERVER=controller.hostname, MAIL_PORT=controller.port)

    assert send(story.liaison_notification) is True
    assert send(story.contact_notification) is True
    assert state(story.liaison_notification) == ("sent", SENT_AT)
    assert state(story.contact_notification) == ("sent", SENT_AT)

    assert [m.recipients for m in collector.messages] == [["liaison@example.gov.cn"], ["contact@example.com"]]
    assert {m.sender for m in collector.messages} == {"noreply@hotline.example.gov.cn"}
    chinese, english = (m.message for m in collector.messages)
    link = f"{BASE_URL}/tickets/{story.number}"

    assert chinese["To"] == "liaison@example.gov.cn"
    assert chinese["Subject"].startswith("[企呼我应] ") and story.number in chinese["Subject"]
    assert chinese.get_content_type() == "multipart/alternative"
    text = bodies(chinese)
    assert set(text) == {"text/plain", "text/html"}
    assert "诉求编号" in text["text/plain"] and "诉求编号" in text["text/html"]
    assert link in text["text/plain"] and f'href="{link}"' in text["text/html"]

    assert english["To"] == "contact@example.com"
    assert english["Subject"] == f"[QiHu WoYing] Your request {story.number} is resolved"
    assert english.get_content_type() == "multipart/alternative"
    text = bodies(english)
    assert set(text) == {"text/plain", "text/html"}
    assert "is resolved" in text["text/plain"] and f"Number: {story.number}" in text["text/plain"]
    assert "已协调周边停车场提供月租车位。" in text["text/html"]  # the answer itself
    assert "诉求编号" not in text["text/plain"]

    # a second delivery of the same task sends nothing
    assert send(story.liaison_notification) is False
    assert send(story.contact_notification) is False
    assert len(collector.messages) == 2


def test_a_refused_connection_raises_and_leaves_the_email_pending(pg_app: Flask, story: Story) -> None:
    pg_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens there
    with pytest.raises(OSError):
        send(story.liaison_notification)
    assert state(story.liaison_notification) == ("pending", None)


def test_a_server_that_never_answers_times_out(pg_app: Flask, story: Story) -> None:
    """A hung mail server costs the worker MAIL_TIMEOUT, not forever."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel accepts the connection; nobody ever greets
        pg_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.getsockname()[1], MAIL_TIMEOUT=0.5)
        started = time.monotonic()
        with pytest.raises(OSError):
            send(story.liaison_notification)
        assert time.monotonic() - started < 5
    assert state(story.liaison_notification) == ("pending", None)


def test_an_address_refused_for_good_is_marked_failed_not_retried(
    pg_app: Flask, story: Story, smtp: tuple[Controller, Collector]
) -> None:
    controller, collector = smtp
    pg_app.config.update(MAIL_SERVER=controller.hostname, MAIL_PORT=controller.port)
    row = db.session.get(Notification, story.liaison_notification)
    assert row is not None
    row.user.email = "nobody@example.gov.cn"
    db.session.commit()
    assert send(story.liaison_notification) is False
    assert state(story.liaison_notification) == ("failed", None)
    assert send(story.liaison_notification) is False
    assert collector.messages == []
