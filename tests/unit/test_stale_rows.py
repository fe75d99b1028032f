"""A request changed by another transaction after this one loaded it: the locked re-read wins."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from hotline.db import utcnow
from hotline.errors import InvalidTransition
from hotline.extensions import db
from hotline.stats import rollup
from hotline.tickets import services as tickets
from hotline.tickets.models import Ticket, TicketState
from tests.factories import World


def test_a_request_closed_meanwhile_cannot_be_rated_and_the_rollup_stays_exact(world: World) -> None:
    ticket = world.resolved()
    db.session.commit()
    assert ticket.state == TicketState.RESOLVED  # loaded in this session as resolved

    # The rating-window worker closes it in another transaction (raw SQL: this session's object goes stale).
    db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id).values(state=TicketState.CLOSED),
        execution_options={"synchronize_session": False},
    )
    rollup.apply(db.session.connection(), [ticket.id], 1)
    assert ticket.state == TicketState.RESOLVED  # still stale in memory

    with pytest.raises(InvalidTransition):
        tickets.rate(ticket.id, world.contact, "satisfied", "", utcnow())
    db.session.rollback()
    assert rollup.drift(db.session.connection()) == []


def test_touching_a_closed_request_keeps_the_rollup_exact(world: World) -> None:
    ticket = world.resolved()
    tickets.rate(ticket.id, world.contact, "satisfied", "", utcnow())
    db.session.commit()
    tickets.add_note(ticket.id, world.liaison, "归档备注", utcnow())  # modifies the closed row (updated_at)
    db.session.commit()
    assert rollup.drift(db.session.connection()) == []
