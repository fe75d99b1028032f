"""A routing decision on the request's timeline (DESIGN §6): the rule and why, in the reader's language,
for staff only.  Renders the partial ``routing/_decision.html`` in a request as the timeline does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from flask import Flask, g, render_template
from flask_babel import force_locale
from flask_login import login_user
from sqlalchemy import select

from hotline.auth.models import User
from hotline.enterprises.models import CoverageRole
from hotline.extensions import db
from hotline.routing.labels import routing_reason, routing_rule
from hotline.routing.services import route_ticket
from hotline.tickets import services as tickets
from hotline.tickets.models import EventKind, Ticket, TicketEvent
from tests import factories
from tests.factories import World

# 10:00 on a Tuesday in Shanghai.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


@contextmanager
def reading_as(app: Flask, user: User, locale: str) -> Iterator[None]:
    """Run a block in a request of ``user``, in ``locale``, the way a page of theirs renders."""
    with app.test_request_context("/"):
        login_user(user)
        try:
            with force_locale(locale):
                yield
        finally:
            g.pop("_login_user", None)  # the test's app context outlives the request: forget the user


def event_of(ticket: Ticket, kind: EventKind) -> TicketEvent:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
    [event] = db.session.scalars(query)
    return event


def pooled_event(world: World) -> tuple[TicketEvent, str, str]:
    lonely = factories.building()  # a street of its own, nobody covers it
    contact = factories.enterprise_user(factories.enterprise(lonely))
    ticket = tickets.submit_ticket(
        contact,
        category=world.category.code,
        title="办公楼停车位不足",
        description="员工停车困难。",
        contact_phone="13800138000",
        now=T0,
    )
    assert route_ticket(ticket.id, T1).rule == "pool"
    return event_of(ticket, EventKind.POOLED), lonely.name, lonely.street.name


def deputy_event(world: World) -> TicketEvent:
    factories.liaison([world.building], role=CoverageRole.DEPUTY)
    world.liaison.available = False
    ticket = world.submit(T0)
    assert route_ticket(ticket.id, T1).rule == "deputy"
    return event_of(ticket, EventKind.ASSIGNED)


def shown(html: str) -> str:
    """The text a reader sees: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_pooled_request_shows_why_in_english(app: Flask, world: World) -> None:
    event, building, street = pooled_event(world)
    with reading_as(app, world.manager, "en"):
        html = render_template("routing/_decision.html", event=event)
    assert 'data-rule="pool"' in html
    assert shown(html) == f"Dispatch pool No available liaison covered {building} or street {street}."


def test_a_pooled_request_shows_why_in_chinese(app: Flask, world: World) -> None:
    event, building, street = pooled_event(world)
    with reading_as(app, world.manager, "zh"):
        text = shown(render_template("routing/_decision.html", event=event))
    assert "派单池" in text and building in text and street in text
    assert "No available liaison" not in text and "Dispatch pool" not in text


def test_a_routed_assignment_shows_the_rule_and_why_in_english(app: Flask, world: World) -> None:
    event = deputy_event(world)
    with reading_as(app, world.liaison, "en"):  # any staff reader: a liaison too
        text = shown(render_template("routing/_decision.html", event=event))
    assert text == (
        f"Deputy liaison Assigned to the deputy of {world.building.name} with the fewest open requests (0); "
        f"the primary liaison {world.liaison.username} was on leave."
    )


def test_a_routed_assignment_shows_the_rule_and_why_in_chinese(app: Flask, world: World) -> None:
    event = deputy_event(world)
    with reading_as(app, world.manager, "zh"):
        text = shown(render_template("routing/_decision.html", event=event))
    assert "副包联" in text and "休假" in text
    assert world.building.name in text and world.liaison.username in text
    assert "Deputy" not in text and "on leave" not in text


def test_an_enterprise_never_reads_the_routing_reason(app: Flask, world: World) -> None:
    assigned = deputy_event(world)
    pooled, _building, _street = pooled_event(world)
    for locale in ("zh", "en"):
        with reading_as(app, world.contact, locale):
            for event in (assigned, pooled):
                assert routing_reason(event) is None
                assert routing_rule(event) is None
                assert render_template("routing/_decision.html", event=event).strip() == ""


def test_a_manual_assignment_has_no_routing_decision(app: Flask, world: World) -> None:
    ticket = world.submit(T0)
    tickets.assign(ticket.id, world.manager, world.liaison.username, T0, reason="该企业投诉较多")
    with reading_as(app, world.manager, "en"):
        event = event_of(ticket, EventKind.ASSIGNED)
        assert routing_reason(event) is None
        assert render_template("routing/_decision.html", event=event).strip() == ""


def test_an_older_event_shows_its_reason_as_it_was(app: Flask, world: World) -> None:
    legacy = f"primary liaison of {world.building.name}"
    event = TicketEvent(
        kind=EventKind.ASSIGNED, payload={"method": "routing", "rule": "primary", "reason": legacy}
    )
    with reading_as(app, world.manager, "en"):
        assert shown(render_template("routing/_decision.html", event=event)) == f"Primary liaison {legacy}"
